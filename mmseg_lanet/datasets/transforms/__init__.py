from .load_annotations import LoadISPRSAnnotations
from .load_multiband import LoadMultiBandImageFromFile
from .normalize_dsm import NormalizeDSM
from .photometric import BandAwarePhotoMetricDistortion

__all__ = [
    'LoadMultiBandImageFromFile', 'LoadISPRSAnnotations', 'NormalizeDSM',
    'BandAwarePhotoMetricDistortion'
]
