"""Converters from the official ISPRS archives to the multi-band layout.

The machinery (:mod:`.convert`) is shared; :mod:`.potsdam` and
:mod:`.vaihingen` only describe their archive layouts.
"""
from .convert import convert_dataset
from .potsdam import POTSDAM_LAYOUT
from .report import dsm_statistics, format_summary, optical_statistics
from .vaihingen import VAIHINGEN_LAYOUT

__all__ = [
    'convert_dataset', 'format_summary', 'dsm_statistics',
    'optical_statistics', 'POTSDAM_LAYOUT',
    'VAIHINGEN_LAYOUT'
]
