"""LANet for MMSegmentation 1.x.

Importing this package registers every component (models, data sets,
transforms, metrics, hooks) in MMSegmentation's registries, and makes
checkpoints written by mmengine loadable under torch's safe
(``weights_only``) unpickling.

On a machine without MMSegmentation (e.g. ``pip install
mmseg-lanet[deploy]``: numpy, onnxruntime and rasterio only) it registers
nothing and imports neither torch nor OpenMMLab: its torch-free parts, the
inference engine (:mod:`mmseg_lanet.inference`) and maps from an ONNX model,
are what such an install runs.
"""
import importlib.util

from .version import __version__

if importlib.util.find_spec('mmseg') is not None:
    # With mmseg installed, its import errors (a broken mmcv...) surface.
    from .engine import checkpoint_compat  # noqa: F401  (before any checkpoint is loaded)
    from . import datasets, engine, evaluation, models  # noqa: F401

__all__ = ['__version__']
