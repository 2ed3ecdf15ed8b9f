"""ISPRS Vaihingen with NIR, R, G and the DSM."""
from mmseg.registry import DATASETS
from .isprs_multiband import ISPRSMultiBandDataset


@DATASETS.register_module()
class VaihingenMultiBandDataset(ISPRSMultiBandDataset):
    """ISPRS Vaihingen converted by ``tools/dataset_converters/vaihingen.py``.

    Optical files hold NIR, R, G; the height files the DSM. By default the
    model gets the four bands of the LANet paper: ``('NIR', 'R', 'G',
    'DSM')``; ``bands=('NIR', 'R', 'G')`` gives MMSegmentation's model-zoo
    input (IRRG).
    """
    METAINFO = dict(
        ISPRSMultiBandDataset.METAINFO, file_bands=('NIR', 'R', 'G'))
    DEFAULT_BANDS = ('NIR', 'R', 'G', 'DSM')
