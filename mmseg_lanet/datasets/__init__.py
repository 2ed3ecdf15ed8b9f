"""ISPRS Potsdam and Vaihingen with every band: data sets, transforms,
converters of the official archives and a synthetic sample.

Importing this package registers ``PotsdamMultiBandDataset``,
``VaihingenMultiBandDataset``, ``ISPRSMultiBandDataset`` (DATASETS) and
``LoadMultiBandImageFromFile``, ``LoadMultiBandCrop``,
``LoadISPRSAnnotations``, ``NormalizeDSM``,
``BandAwarePhotoMetricDistortion`` (TRANSFORMS) in MMSegmentation.
"""
from .isprs_multiband import HEIGHT_BANDS, ISPRSMultiBandDataset
from .potsdam_multiband import PotsdamMultiBandDataset
from .transforms import (BandAwarePhotoMetricDistortion, LoadISPRSAnnotations,
                         LoadMultiBandCrop, LoadMultiBandImageFromFile,
                         NormalizeDSM)
from .vaihingen_multiband import VaihingenMultiBandDataset

__all__ = [
    'ISPRSMultiBandDataset', 'PotsdamMultiBandDataset',
    'VaihingenMultiBandDataset', 'LoadMultiBandImageFromFile',
    'LoadMultiBandCrop',
    'LoadISPRSAnnotations', 'NormalizeDSM', 'BandAwarePhotoMetricDistortion',
    'HEIGHT_BANDS'
]
