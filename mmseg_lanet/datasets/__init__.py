"""ISPRS Potsdam and Vaihingen with every band: data sets, transforms,
converters of the official archives and a synthetic sample.

Importing this package registers ``PotsdamMultiBandDataset``,
``VaihingenMultiBandDataset``, ``ISPRSMultiBandDataset`` (DATASETS) and
``LoadMultiBandImageFromFile``, ``LoadMultiBandCrop``,
``LoadISPRSAnnotations``, ``NormalizeDSM``,
``BandAwarePhotoMetricDistortion`` (TRANSFORMS) in MMSegmentation.

Without MMSegmentation (see :mod:`mmseg_lanet`) it registers nothing, and
its raster modules (``raster_io``, ``georaster``, ``isprs_classes``,
``malloc_tuning``) still import: they need no torch.
"""
import importlib.util

from .isprs_classes import HEIGHT_BANDS

__all__ = ['HEIGHT_BANDS']
if importlib.util.find_spec('mmseg') is not None:
    from .isprs_multiband import ISPRSMultiBandDataset
    from .potsdam_multiband import PotsdamMultiBandDataset
    from .transforms import (BandAwarePhotoMetricDistortion,
                             LoadISPRSAnnotations, LoadMultiBandCrop,
                             LoadMultiBandImageFromFile, NormalizeDSM)
    from .vaihingen_multiband import VaihingenMultiBandDataset
    __all__ += [
        'ISPRSMultiBandDataset', 'PotsdamMultiBandDataset',
        'VaihingenMultiBandDataset', 'LoadMultiBandImageFromFile',
        'LoadMultiBandCrop', 'LoadISPRSAnnotations', 'NormalizeDSM',
        'BandAwarePhotoMetricDistortion'
    ]
