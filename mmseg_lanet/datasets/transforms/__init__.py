from .load_annotations import LoadISPRSAnnotations
from .load_multiband import LoadMultiBandImageFromFile
from .load_multiband_crop import LoadMultiBandCrop
from .normalize_dsm import NormalizeDSM
from .photometric import BandAwarePhotoMetricDistortion

__all__ = [
    'LoadMultiBandImageFromFile', 'LoadMultiBandCrop', 'LoadISPRSAnnotations',
    'NormalizeDSM', 'BandAwarePhotoMetricDistortion'
]
