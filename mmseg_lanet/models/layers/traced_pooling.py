"""Patch pooling and spreading with every size taken from tensor shapes,
the form :mod:`.patch_pooling` switches to while a model is traced for
export (ONNX), so that one exported graph serves any input size.

Eager PyTorch keeps :mod:`.patch_pooling`'s operators (their outputs, the
ones the equation tests check, are unchanged). Under tracing those
operators would freeze sizes into the graph: an average-pool kernel is an
attribute (``min(window, size)`` becomes a constant), and ``int(size)``
or a Python comparison of sizes stops being recorded. Here a pooling is
instead a product with an averaging matrix built from ``arange`` of the
traced sizes, and a spread or nearest resize is an ``index_select`` with
indices computed as PyTorch's kernels compute them, so the traced graph
gives the eager outputs (up to float rounding of the sums) at any size.
"""
from typing import Sequence, Tuple

import torch
from torch import Tensor, nn


def exporting() -> bool:
    """Whether the running forward pass is being traced or exported (sizes
    must then stay symbolic)."""
    return (torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
            or torch.compiler.is_exporting())


def at_most(values: Tensor, bound) -> Tensor:
    """``min(values, bound)`` for integer tensors. ``torch.where`` rather
    than ``clamp``: ONNX's Clip and Min take integers from opset 12 only,
    and MMDeploy exports at opset 11."""
    return torch.where(values > bound, bound, values)


def at_least_one(values: Tensor) -> Tensor:
    """``max(values, 1)`` for integer tensors (see :func:`at_most`)."""
    return torch.where(values < 1, torch.ones_like(values), values)


def bin_matrix(starts: Tensor, ends: Tensor, size) -> Tensor:
    """Averaging weights of bins ``[start_i, end_i)`` over ``size`` pixels.

    Returns:
        Tensor: (bins, size) float32; row ``i`` is ``1 / (end_i -
        start_i)`` on its bin's pixels and 0 elsewhere.
    """
    pixels = torch.arange(size, device=starts.device)
    inside = (pixels[None] >= starts[:, None]) & (pixels[None] < ends[:, None])
    inside = inside.float()
    return inside / inside.sum(dim=1, keepdim=True)


def patch_bins(size, side: int) -> Tuple[Tensor, Tensor]:
    """Non-overlapping patches of ``side`` pixels from 0 along an axis of
    ``size`` pixels, the last one partial: ``ceil(size / side)`` bins.
    A side larger than the axis gives one bin over the whole axis, as
    :func:`.patch_pooling.patch_kernel` shrinks the window."""
    count = (size + side - 1) // side
    starts = torch.arange(count) * side
    return starts, at_most(starts + side, size)


def adaptive_bins(size, count) -> Tuple[Tensor, Tensor]:
    """``adaptive_avg_pool``'s bins: bin ``i`` of ``count`` spans
    ``[floor(i size / count), ceil((i + 1) size / count))``."""
    index = torch.arange(count)
    return (index * size // count, ((index + 1) * size + count - 1) // count)


def average_bins(x: Tensor, rows: Tuple[Tensor, Tensor],
                 cols: Tuple[Tensor, Tensor]) -> Tensor:
    """Mean of ``x`` over every (row bin, column bin) pair.

    Args:
        x (Tensor): (N, C, H, W).
        rows, cols (tuple[Tensor, Tensor]): Bin starts and ends along H and
            W (:func:`patch_bins`, :func:`adaptive_bins`).

    Returns:
        Tensor: (N, C, bins along H, bins along W).
    """
    height, width = x.shape[-2:]
    row_weights = bin_matrix(*rows, height).to(x)
    col_weights = bin_matrix(*cols, width).to(x)
    return row_weights @ (x @ col_weights.transpose(0, 1))


def pool_patches(x: Tensor, window: Tuple[int, int]) -> Tensor:
    """:func:`.patch_pooling.pool_descriptors` in 'patch' mode."""
    height, width = x.shape[-2:]
    return average_bins(x, patch_bins(height, window[0]),
                        patch_bins(width, window[1]))


def pool_adaptive(x: Tensor, out_size: Sequence) -> Tensor:
    """``F.adaptive_avg_pool2d(x, out_size)`` for traced sizes."""
    height, width = x.shape[-2:]
    return average_bins(x, adaptive_bins(height, out_size[0]),
                        adaptive_bins(width, out_size[1]))


def pool_descriptors(x: Tensor, window: Tuple[int, int], mode: str) -> Tensor:
    """:func:`.patch_pooling.pool_descriptors` in 'patch' or 'adaptive'
    mode ('sliding' has a fixed kernel and exports as it is)."""
    if mode == 'patch':
        return pool_patches(x, window)
    out_size = [
        at_least_one(size // side)
        for size, side in zip(x.shape[-2:], window)
    ]
    return pool_adaptive(x, out_size)


def nearest_indices(in_size, out_size) -> Tensor:
    """Source index of each output pixel of a nearest resize, computed as
    PyTorch's kernel does: ``floor(i * float(in) / out)`` in float32,
    clamped to the last pixel."""
    if not isinstance(in_size, Tensor):
        in_size = torch.tensor(in_size)
    scale = in_size.float() / out_size
    index = torch.floor(torch.arange(out_size).float() * scale).long()
    return at_most(index, in_size - 1)


def resize_nearest(x: Tensor, size: Sequence) -> Tensor:
    """``F.interpolate(x, size, mode='nearest')`` for traced sizes."""
    rows = nearest_indices(x.shape[-2], size[0]).to(x.device)
    cols = nearest_indices(x.shape[-1], size[1]).to(x.device)
    return x.index_select(2, rows).index_select(3, cols)


def spread_patches(attention: Tensor, size: Sequence,
                   window: Tuple[int, int]) -> Tensor:
    """:func:`.patch_pooling.spread_patches`: pixel ``(y, x)`` takes the
    vector of patch ``(y // h_p, x // w_p)`` (one patch when the window
    exceeds the map, as there)."""
    rows = (torch.arange(size[0]) // window[0]).to(attention.device)
    cols = (torch.arange(size[1]) // window[1]).to(attention.device)
    return attention.index_select(2, rows).index_select(3, cols)


class ExportableAdaptiveAvgPool2d(nn.AdaptiveAvgPool2d):
    """``nn.AdaptiveAvgPool2d`` whose traced form takes any input size
    (:func:`pool_adaptive`; ONNX's exporters only write adaptive pooling
    to one bin or for a size known at export). Eager outputs are the
    parent's."""

    def forward(self, x: Tensor) -> Tensor:
        size = self.output_size
        if not exporting() or size in (1, (1, 1)):
            return super().forward(x)
        size = (size, size) if isinstance(size, int) else size
        height, width = x.shape[-2:]
        return pool_adaptive(x, (size[0] or height, size[1] or width))


def make_adaptive_pools_exportable(model: nn.Module) -> int:
    """Turn every ``nn.AdaptiveAvgPool2d`` of ``model`` (e.g. PSPNet's
    pyramid pooling) into :class:`ExportableAdaptiveAvgPool2d`, in place.

    Returns:
        int: How many were changed.
    """
    pools = [m for m in model.modules()
             if type(m) is nn.AdaptiveAvgPool2d]  # noqa: E721 (not subclasses)
    for pool in pools:
        pool.__class__ = ExportableAdaptiveAvgPool2d
    return len(pools)


def upsample_patches(attention: Tensor, source_size: Sequence,
                     target_size: Sequence, window: Tuple[int, int],
                     pool_mode: str) -> Tensor:
    """:func:`.patch_pooling.upsample_attention` in 'patch' mode: to the
    source pixels (by patch, or nearest from adaptive bins or sliding
    descriptors), then nearest to the target (both the identity where the
    sizes are equal)."""
    if pool_mode == 'patch':
        attention = spread_patches(attention, source_size, window)
    else:
        attention = resize_nearest(attention, source_size)
    return resize_nearest(attention, target_size)
