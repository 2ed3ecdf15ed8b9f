"""Deployment: ONNX export of a trained segmentor (:mod:`.export`, needs
torch) and the torch-free reader of what an exported file carries
(:mod:`.metadata`, needs only onnxruntime).

Importing this package imports neither torch nor mmseg: import
:mod:`.export` and :mod:`.check` explicitly.
"""
from .metadata import (FORMAT_VERSION, HEIGHT_STATS_NAME, INPUT_NAME,
                       METADATA_KEY, OUTPUT_NAME, open_session,
                       read_metadata)

__all__ = [
    'FORMAT_VERSION', 'HEIGHT_STATS_NAME', 'INPUT_NAME', 'METADATA_KEY',
    'OUTPUT_NAME', 'open_session', 'read_metadata'
]
