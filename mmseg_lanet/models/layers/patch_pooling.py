"""Patch-wise average pooling (LANet eq. 1 and 3) and its inverse upsampling.

Both attention modules of LANet summarise a feature map by one descriptor
per local patch, compute an attention vector per descriptor and spread the
vectors back over the pixels. This file holds the two spatial halves of that
computation so that the modules share one definition of what a patch is.

Rule for maps that are not a multiple of the window (e.g. the 1996 x 1995
Vaihingen tiles at stride 4): patches are laid out from the top-left corner,
``ceil(H / h_p) x ceil(W / w_p)`` of them; the last patch along an axis is
partial and its descriptor is the mean of the pixels it does contain (no
zero padding enters the mean). A window larger than the map covers the
whole map, so every map, down to 1 x 1, has at least one descriptor.

While the model is traced for export, the same computations run in the
shape-derived form of :mod:`.traced_pooling`, so that an exported graph
takes any input size.
"""
from typing import Sequence, Tuple, Union

import torch.nn.functional as F
from torch import Tensor

from . import traced_pooling

#: How descriptors are pooled.
#: ``'patch'``: non-overlapping ``h_p x w_p`` patches (paper, eq. 1 and 3).
#: ``'adaptive'``: ``adaptive_avg_pool2d`` to ``(H // h_p, W // w_p)``
#: (the authors' code; clamped to at least 1 x 1 here, where theirs fails).
#: ``'sliding'``: a stride-1 ``h_p x w_p`` window, one descriptor per pixel
#: (the authors' AEM; odd windows only, border means over valid pixels).
POOL_MODES = ('patch', 'adaptive', 'sliding')

#: How attention vectors return to pixels.
#: ``'patch'``: every pixel takes the vector of the descriptor that pooled
#: it (eq. 2 defines ``a_p`` over the patch ``h_p x w_p``), then nearest
#: resizing to the target size when it differs from the source (AEM).
#: ``'bilinear'``: bilinear interpolation from the descriptor map straight
#: to the target size (the authors' code).
UPSAMPLE_MODES = ('patch', 'bilinear')

WindowType = Union[int, Sequence[int]]


def to_window(window: WindowType, name: str = 'window') -> Tuple[int, int]:
    """Validate a pooling window and return it as ``(h_p, w_p)``.

    Args:
        window (int | Sequence[int]): One side for square patches, or
            ``(h_p, w_p)``.
        name (str): How the caller calls the argument, for the message.

    Returns:
        tuple[int, int]: ``(h_p, w_p)``, both >= 1.
    """
    if isinstance(window, int) and not isinstance(window, bool):
        pair = (window, window)
    elif (isinstance(window, (tuple, list)) and len(window) == 2
          and all(isinstance(v, int) and not isinstance(v, bool)
                  for v in window)):
        pair = tuple(window)
    else:
        raise TypeError(f'{name} must be an int or a pair of ints, '
                        f'got {window!r}')
    if min(pair) <= 0:
        raise ValueError(f'{name} must be positive, got {window!r}')
    return pair


def patch_kernel(size: Sequence[int],
                 window: Tuple[int, int]) -> Tuple[int, int]:
    """The patch actually used on a map of ``size``: the window, shrunk to
    the map where the window is larger."""
    return min(window[0], size[0]), min(window[1], size[1])


def pool_descriptors(x: Tensor, window: Tuple[int, int],
                     mode: str = 'patch') -> Tensor:
    """Average-pool a feature map into local descriptors (eq. 1).

    Args:
        x (Tensor): Feature map, shape (N, C, H, W).
        window (tuple[int, int]): ``(h_p, w_p)``, from :func:`to_window`.
        mode (str): One of :data:`POOL_MODES`.

    Returns:
        Tensor: Descriptors, shape (N, C, H', W'), with
        ``(H', W') = (ceil(H / h_p), ceil(W / w_p))`` for ``'patch'``,
        ``(max(1, H // h_p), max(1, W // w_p))`` for ``'adaptive'`` and
        ``(H, W)`` for ``'sliding'``.
    """
    if mode in ('patch', 'adaptive') and traced_pooling.exporting():
        return traced_pooling.pool_descriptors(x, window, mode)
    if mode == 'patch':
        kernel = patch_kernel(x.shape[-2:], window)
        # With zero padding, ceil_mode's partial last window is divided by
        # the number of pixels it covers: the documented partial-patch rule.
        return F.avg_pool2d(x, kernel, stride=kernel, ceil_mode=True)
    if mode == 'adaptive':
        h, w = x.shape[-2:]
        out_size = (max(1, h // window[0]), max(1, w // window[1]))
        return F.adaptive_avg_pool2d(x, out_size)
    if mode == 'sliding':
        padding = (window[0] // 2, window[1] // 2)
        return F.avg_pool2d(
            x,
            window,
            stride=1,
            padding=padding,
            count_include_pad=False)
    raise ValueError(f'pool mode must be one of {POOL_MODES}, got {mode!r}')


def spread_patches(attention: Tensor, size: Sequence[int],
                   kernel: Tuple[int, int]) -> Tensor:
    """Give every pixel of a ``size`` map the vector of its patch.

    One broadcast copy, and a crop only where the last patches are partial:
    under autocast the head's training step can be bound by the number of
    operators launched, and a crop costs a zero-filled full-size gradient
    in the backward pass.

    Args:
        attention (Tensor): One vector per patch, (N, C, H', W').
        size (Sequence[int]): ``(H, W)``, at most ``(H' h_p, W' w_p)``.
        kernel (tuple[int, int]): The patch ``(h_p, w_p)``.

    Returns:
        Tensor: Shape (N, C, H, W).
    """
    n, c, rows, cols = attention.shape
    spread = attention.reshape(n, c, rows, 1, cols, 1).expand(
        n, c, rows, kernel[0], cols, kernel[1]).reshape(
            n, c, rows * kernel[0], cols * kernel[1])
    if tuple(spread.shape[-2:]) == tuple(size):
        return spread
    return spread[..., :size[0], :size[1]]


def upsample_attention(attention: Tensor,
                       source_size: Sequence[int],
                       target_size: Sequence[int],
                       window: Tuple[int, int],
                       pool_mode: str = 'patch',
                       mode: str = 'patch',
                       align_corners: bool = False) -> Tensor:
    """Spread per-descriptor attention back over pixels (``F_U`` in eq. 2).

    Args:
        attention (Tensor): Per-descriptor attention, (N, C, H', W'), the
            output of the gate applied to :func:`pool_descriptors`.
        source_size (Sequence[int]): ``(H, W)`` of the pooled map.
        target_size (Sequence[int]): ``(H_t, W_t)`` of the map the attention
            multiplies (the source itself for PAM, the low-level map for
            AEM).
        window (tuple[int, int]): The pooling window.
        pool_mode (str): The pool mode that produced the descriptors.
        mode (str): One of :data:`UPSAMPLE_MODES`.
        align_corners (bool): For ``'bilinear'``.

    Returns:
        Tensor: Attention map, shape (N, C, H_t, W_t).
    """
    traced = traced_pooling.exporting()
    # Traced sizes stay symbolic: no int() and no comparison of sizes.
    target_size = tuple(target_size if traced else map(int, target_size))
    if mode == 'bilinear':
        return F.interpolate(
            attention,
            size=target_size,
            mode='bilinear',
            align_corners=align_corners)
    if mode != 'patch':
        raise ValueError(
            f'upsample mode must be one of {UPSAMPLE_MODES}, got {mode!r}')
    if traced:
        return traced_pooling.upsample_patches(attention, source_size,
                                               target_size, window, pool_mode)
    source_size = tuple(int(s) for s in source_size)
    if pool_mode == 'patch':
        attention = spread_patches(attention, source_size,
                                   patch_kernel(source_size, window))
    elif tuple(attention.shape[-2:]) != source_size:
        # Adaptive bins: the nearest index of a pixel is a bin containing it.
        attention = F.interpolate(attention, size=source_size, mode='nearest')
    if source_size != target_size:
        attention = F.interpolate(attention, size=target_size, mode='nearest')
    return attention
