"""The few array operations the inference engine needs, for numpy arrays
and for torch tensors on any device.

The engine (:func:`~.blended_inference.blended_inference`,
:class:`~.row_band.RowBandAccumulator`) is written once against
:class:`ArrayOps`; :func:`array_ops` picks the implementation from the
arrays a caller gives it. numpy serves onnxruntime without torch installed;
torch keeps a GPU model's windows, blend weights and sums on the GPU (no
copy to the host per batch). torch is imported only when a tensor is seen.
"""
from typing import Callable, Sequence

import numpy as np


def dtype_name(dtype) -> str:
    """'float16' for ``np.float16``, ``torch.float16`` or 'float16'."""
    return str(dtype).replace('torch.', '')


class ArrayOps:
    """Array operations on one kind of array (see :func:`array_ops`).

    Arrays are indexed, sliced, added in place and compared with the
    operators numpy and torch share; only what they spell differently is
    here.
    """

    def dtype(self, dtype):
        """This library's dtype for a numpy or torch dtype or its name."""
        raise NotImplementedError

    def zeros(self, shape: Sequence[int], dtype):
        raise NotImplementedError

    def from_numpy(self, array: np.ndarray):
        """A host numpy array as this library's array, where the engine
        computes."""
        raise NotImplementedError

    def to_device(self, array):
        """An array read from a file, moved to where the engine computes."""
        raise NotImplementedError

    def stack(self, arrays: Sequence):
        raise NotImplementedError

    def multiply(self, a, b, dtype):
        """``a * b`` written once, in ``dtype``."""
        raise NotImplementedError

    def astype(self, array, dtype):
        """A copy of ``array`` in ``dtype``."""
        raise NotImplementedError

    def maximum_(self, a, b):
        """``a = max(a, b)`` elementwise, in place; returns ``a``."""
        raise NotImplementedError

    def clamp_min_(self, array, value: float):
        """``array = max(array, value)`` in place; returns ``array``."""
        raise NotImplementedError

    def fill_where_(self, array, mask, value) -> None:
        """``array[mask] = value`` (a mask as large as ``array``)."""
        raise NotImplementedError

    def round_(self, array):
        """Round to the nearest integer (halves to even), in place;
        returns ``array``."""
        raise NotImplementedError

    def divide_(self, a, b):
        """``a /= b`` in place (``b`` broadcast); returns ``a``."""
        raise NotImplementedError

    def argmax0(self, array):
        """Index of the largest value along axis 0, lowest on ties."""
        raise NotImplementedError

    def flip(self, array, axis: int):
        """``array`` reversed along ``axis``."""
        raise NotImplementedError

    def softmax1(self, logits):
        """float32 softmax over axis 1 (classes); may reuse ``logits``'
        memory."""
        raise NotImplementedError

    def numpy(self, array) -> np.ndarray:
        """A host numpy array (no copy where it already is one)."""
        raise NotImplementedError

    @property
    def on_host(self) -> bool:
        """Whether arrays live in host memory."""
        return True


class NumpyOps(ArrayOps):
    """numpy arrays on the host."""

    def dtype(self, dtype):
        return np.dtype(dtype_name(dtype))

    def zeros(self, shape, dtype):
        return np.zeros(shape, self.dtype(dtype))

    def from_numpy(self, array):
        return array

    def to_device(self, array):
        return array

    def stack(self, arrays):
        return np.stack(arrays)

    def multiply(self, a, b, dtype):
        return np.multiply(a, b, out=np.empty(np.broadcast_shapes(
            a.shape, b.shape), self.dtype(dtype)))

    def astype(self, array, dtype):
        return array.astype(self.dtype(dtype))

    def maximum_(self, a, b):
        return np.maximum(a, b, out=a)

    def clamp_min_(self, array, value):
        return np.maximum(array, value, out=array)

    def fill_where_(self, array, mask, value):
        np.copyto(array, value, where=mask)

    def round_(self, array):
        return np.rint(array, out=array)

    def divide_(self, a, b):
        return np.divide(a, b, out=a)

    def argmax0(self, array):
        return array.argmax(0)

    def flip(self, array, axis):
        return np.flip(array, axis)

    def softmax1(self, logits):
        logits = logits.astype(np.float32, copy=False)
        np.subtract(logits, logits.max(1, keepdims=True), out=logits)
        np.exp(logits, out=logits)
        logits /= logits.sum(1, keepdims=True)
        return logits

    def numpy(self, array):
        return array


def is_torch_tensor(array) -> bool:
    """Whether ``array`` is a torch tensor, without importing torch."""
    return type(array).__module__.split('.')[0] == 'torch'


def array_ops(array=None, device=None) -> ArrayOps:
    """The operations of the engine for ``array``: torch's on ``device``
    when one is given (numpy arrays are then uploaded there), else torch's
    on a tensor's own device, else numpy's.
    """
    if device is not None or is_torch_tensor(array):
        from .torch_ops import TorchOps
        return TorchOps(array.device if device is None else device)
    return NumpyOps()


# The flips of test-time augmentation: none, horizontal (width), vertical.
FLIP_AXES = (None, 3, 2)


def class_probabilities(logits_fn: Callable, windows, flip: bool = False):
    """Class probabilities of a batch of windows: the softmax of their
    logits, or with ``flip`` the average over the windows as they are and
    flipped horizontally and vertically, each flip undone (test-time
    augmentation). numpy arrays or torch tensors (:func:`array_ops`).

    Args:
        logits_fn (callable): (N, C, h, w) -> (N, K, h, w) logits.
        windows: (N, C, h, w) input of ``logits_fn``.
        flip (bool): Average over the flips. Defaults to False.

    Returns:
        (N, K, h, w) float32 probabilities.
    """
    ops = array_ops(windows)
    axes = FLIP_AXES if flip else FLIP_AXES[:1]
    probs = None
    for axis in axes:
        flipped = windows if axis is None else ops.flip(windows, axis)
        scores = ops.softmax1(logits_fn(flipped))
        if axis is not None:
            scores = ops.flip(scores, axis)
        if probs is None:
            probs = scores
        else:
            probs += scores
    return probs if len(axes) == 1 else ops.divide_(probs, len(axes))


def ops_for_dtype(dtype, device=None) -> ArrayOps:
    """torch's operations for a torch dtype or a device, else numpy's."""
    return array_ops(None, device if device is not None else (
        'cpu' if dtype_name(dtype) != str(dtype) else None))


__all__ = ['ArrayOps', 'NumpyOps', 'array_ops', 'ops_for_dtype',
           'dtype_name', 'is_torch_tensor', 'class_probabilities',
           'FLIP_AXES']
