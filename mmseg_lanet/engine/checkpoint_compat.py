"""Load mmengine checkpoints with torch's safe unpickling (torch >= 2.6).

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``, which
refuses any class it does not know. mmengine calls ``torch.load`` without the
argument, so MMSeg's ``tools/test.py CONFIG CKPT`` and ``tools/train.py
--resume`` fail on the checkpoint ``train.py`` has just written::

    UnpicklingError: ... mmengine.logging.history_buffer.HistoryBuffer was
    not an allowed global

Rather than switching safe loading off, importing this module allow-lists the
exact types an mmengine checkpoint holds (the message hub's
``HistoryBuffer`` and the NumPy arrays, scalars and dtypes inside it) with
``torch.serialization.add_safe_globals``. Any other class still makes the load
fail. It also makes mmengine's local-file loader name the file when a load
fails.
"""
import os.path as osp
import pickle
import zipfile
from typing import List

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from .config_checks import is_uri


def _numpy_globals() -> List[object]:
    """NumPy callables and classes that pickled arrays and scalars refer to.

    Pickles name them by module path, which moved from ``numpy.core`` to
    ``numpy._core`` in NumPy 2; both spellings are allowed so checkpoints
    written under either NumPy load under the other.
    """
    multiarray = getattr(np, '_core', getattr(np, 'core', None)).multiarray
    entries = [np.ndarray, np.dtype]
    for func in (multiarray._reconstruct, multiarray.scalar):
        entries.append(func)
        for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
            entries.append((func, f'{module}.{func.__name__}'))
    # Since NumPy 1.25 each dtype pickles as its own class (Float64DType...).
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        entries.extend(
            cls for name in dir(dtypes)
            if isinstance(cls := getattr(dtypes, name), type)
            and issubclass(cls, np.dtype))
    return entries


def history_buffer_method(owner, name: str):
    """Stand-in for ``getattr`` while unpickling, limited to HistoryBuffer.

    ``HistoryBuffer.__getstate__`` stores its statistics methods
    (``min``, ``max``, ``mean``, ``current``), which pickle writes as
    ``getattr(HistoryBuffer, 'min')``. Allow-listing the builtin ``getattr``
    would let a checkpoint read any attribute of any allowed object; this
    resolves only methods defined on :class:`HistoryBuffer`.
    """
    if owner is HistoryBuffer and callable(
            vars(HistoryBuffer).get(name)) and not name.startswith('_'):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({owner!r}, {name!r}) while loading a checkpoint: '
        'only HistoryBuffer methods are allowed')


MMENGINE_CHECKPOINT_GLOBALS = [
    HistoryBuffer,
    # Pickle protocol 2 writes `__builtin__`, later protocols `builtins`.
    (history_buffer_method, '__builtin__.getattr'),
    (history_buffer_method, 'builtins.getattr'),
    *_numpy_globals(),
]


def allow_mmengine_checkpoints() -> None:
    """Allow-list the types of mmengine checkpoints for safe loading."""
    if hasattr(torch.serialization, 'add_safe_globals'):  # torch >= 2.4
        torch.serialization.add_safe_globals(MMENGINE_CHECKPOINT_GLOBALS)


def check_checkpoint_file(filename: str) -> None:
    """Raise a readable error if ``filename`` cannot be a torch checkpoint.

    Only a local file's existence and format are checked (a zip archive as
    written by ``torch.save``, or the legacy pickle format), so a large
    checkpoint is not read twice. URLs and backend prefixes
    (``https://download.openmmlab.com/...``, ``s3://``, ``open-mmlab://``,
    any ``scheme://``) pass unchecked: mmengine's loaders fetch them.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if the file is not a checkpoint, naming the file.
    """
    if is_uri(filename):
        return
    path = osp.expanduser(filename)
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    if zipfile.is_zipfile(path):
        return
    with open(path, 'rb') as f:
        head = f.read(2)
    if head == b'PK':
        raise ValueError(
            f'{filename} is not a readable checkpoint: a damaged zip archive '
            '(truncated download or copy?)')
    if head[:1] != b'\x80':  # pickle protocol >= 2 opcode
        raise ValueError(
            f'{filename} is not a checkpoint: expected a file written by '
            'torch.save (e.g. work_dirs/<config>/iter_*.pth), got a file '
            f'that starts with {head!r}')


def load_from_local(filename: str, map_location=None):
    """mmengine's local checkpoint loader, with errors that name the file.

    Args:
        filename (str): Local checkpoint path.
        map_location: As in :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.
    """
    check_checkpoint_file(filename)
    try:
        return torch.load(osp.expanduser(filename), map_location=map_location)
    except pickle.UnpicklingError as err:
        raise pickle.UnpicklingError(
            f'torch refused to load {filename} with safe unpickling '
            '(weights_only=True). mmseg_lanet allows the types of mmengine '
            'checkpoints; if you trust this file and it holds other types, '
            'allow them with torch.serialization.add_safe_globals([...]). '
            f'Original error: {err}') from err
    except (RuntimeError, EOFError) as err:
        raise ValueError(
            f'{filename} is not a readable checkpoint (truncated or '
            f'corrupted?): {err}') from err


allow_mmengine_checkpoints()
CheckpointLoader.register_scheme(prefixes='', loader=load_from_local,
                                 force=True)
