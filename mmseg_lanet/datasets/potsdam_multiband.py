"""ISPRS Potsdam with R, G, B, NIR and the (normalised) DSM."""
from mmseg.registry import DATASETS
from .isprs_multiband import ISPRSMultiBandDataset


@DATASETS.register_module()
class PotsdamMultiBandDataset(ISPRSMultiBandDataset):
    """ISPRS Potsdam converted by ``tools/dataset_converters/potsdam.py``.

    Optical files hold R, G, B, NIR; the height files hold the normalised
    DSM (or the DSM, as chosen at conversion). By default the model gets
    the five bands of the LANet paper: ``('R', 'G', 'B', 'NIR', 'nDSM')``;
    ``bands=('R', 'G', 'B')`` gives MMSegmentation's model-zoo input.
    """
    METAINFO = dict(
        ISPRSMultiBandDataset.METAINFO, file_bands=('R', 'G', 'B', 'NIR'))
    DEFAULT_BANDS = ('R', 'G', 'B', 'NIR', 'nDSM')
