""":class:`~.array_ops.ArrayOps` for torch tensors on one device."""
import numpy as np
import torch

from .array_ops import ArrayOps, dtype_name


class TorchOps(ArrayOps):
    """torch tensors on ``device``.

    Windows read on the host are stacked in page-locked memory for a GPU:
    their upload then runs asynchronously instead of blocking the thread
    that reads the next batch.

    Args:
        device (str | torch.device): Where the engine computes.
    """

    def __init__(self, device) -> None:
        self.device = torch.device(device)
        self.pin = self.device.type == 'cuda'

    def dtype(self, dtype):
        return getattr(torch, dtype_name(dtype))

    def zeros(self, shape, dtype):
        return torch.zeros(shape, dtype=self.dtype(dtype), device=self.device)

    def from_numpy(self, array):
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    def to_device(self, array):
        if isinstance(array, np.ndarray):
            array = torch.from_numpy(array)
        return array.to(self.device, non_blocking=True)

    def stack(self, arrays):
        arrays = [torch.from_numpy(a) if isinstance(a, np.ndarray) else a
                  for a in arrays]
        out = None
        if self.pin and arrays[0].device.type == 'cpu':
            out = torch.empty((len(arrays), *arrays[0].shape),
                              dtype=arrays[0].dtype, pin_memory=True)
        return torch.stack(arrays, out=out)

    def multiply(self, a, b, dtype):
        return torch.mul(a, b, out=torch.empty(
            torch.broadcast_shapes(a.shape, b.shape), dtype=self.dtype(dtype),
            device=a.device))

    def astype(self, array, dtype):
        return array.to(self.dtype(dtype), copy=True)

    def maximum_(self, a, b):
        return torch.maximum(a, b, out=a)

    def clamp_min_(self, array, value):
        return array.clamp_(min=value)

    def fill_where_(self, array, mask, value):
        array.masked_fill_(mask, value)

    def round_(self, array):
        return array.round_()

    def divide_(self, a, b):
        return a.div_(b)

    def argmax0(self, array):
        return array.argmax(0)

    def flip(self, array, axis):
        return array.flip(axis)

    def softmax1(self, logits):
        return logits.float().softmax(dim=1)

    def numpy(self, array):
        return array.cpu().numpy()

    @property
    def on_host(self) -> bool:
        return self.device.type == 'cpu'
