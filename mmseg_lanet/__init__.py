"""LANet for MMSegmentation 1.x.

Importing this package registers every component (models, data sets,
transforms, metrics, hooks) in MMSegmentation's registries, and makes
checkpoints written by mmengine loadable under torch's safe
(``weights_only``) unpickling.
"""
from .engine import checkpoint_compat  # noqa: F401  (must run before any checkpoint is loaded)
from . import datasets, engine, evaluation, models  # noqa: F401
from .version import __version__

__all__ = ['__version__']
