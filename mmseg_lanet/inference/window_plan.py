"""Where the windows of a large raster go, and how much each pixel of a
window counts when overlapping predictions are blended."""
from typing import List, Sequence, Tuple

import numpy as np

# A window is (row offset, column offset, height, width) in pixels, as in
# :mod:`mmseg_lanet.datasets.raster_io`.
Window = Tuple[int, int, int, int]


def window_starts(size: int, window: int, stride: int) -> List[int]:
    """Offsets of windows along one axis: every ``stride`` pixels, the last
    one flush with the far edge, so every pixel is covered and no window
    sticks out of the raster (no padding is predicted).

    Args:
        size (int): Raster size along the axis.
        window (int): Window size (clipped to ``size``).
        stride (int): Step between windows, ``0 < stride <= window``.

    Returns:
        list[int]: Increasing offsets, the first 0, the last
        ``size - min(window, size)``.
    """
    if size <= 0 or window <= 0:
        raise ValueError(f'size and window must be positive, got size={size}'
                         f', window={window}')
    if not 0 < stride <= window:
        raise ValueError(f'stride must be in (0, window={window}], got '
                         f'{stride}')
    window = min(window, size)
    last = size - window
    return list(range(0, last, stride)) + [last]


def plan_windows(height: int, width: int, window: Tuple[int, int],
                 stride: Tuple[int, int]) -> List[List[Window]]:
    """Windows covering a raster, grouped in rows of windows, top to bottom.

    Args:
        height (int): Raster height.
        width (int): Raster width.
        window (tuple[int, int]): Window (height, width); a raster smaller
            than the window gets one window of the raster's size along that
            axis.
        stride (tuple[int, int]): Step (rows, columns) between windows.

    Returns:
        list[list[tuple]]: One list per row of windows, each window
        ``(row, col, h, w)``; all windows have the same size.
    """
    win_h, win_w = min(window[0], height), min(window[1], width)
    cols = window_starts(width, window[1], stride[1])
    return [[(row, col, win_h, win_w) for col in cols]
            for row in window_starts(height, window[0], stride[0])]


def taper_1d(size: int, start_edge: bool, end_edge: bool) -> np.ndarray:
    """A Hann window sampled at pixel centres (so both ends are equal and
    above 0), flat (1) from a side that lies on the raster's edge, where no
    other window overlaps to share the weight, to the middle.

    Returns:
        np.ndarray: (size,) float64 in (0, 1], symmetric when both or
        neither side is an edge.
    """
    weight = 0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(size) + 0.5) / size)
    middle = size // 2
    if start_edge:
        weight[:middle] = 1.
    if end_edge:
        weight[middle:] = 1.
    return weight


def blend_weight(window: Window, raster_size: Tuple[int, int],
                 floor: float = 0.1) -> np.ndarray:
    """Weight of each pixel of a window's prediction in the blend.

    Predictions are least reliable near a window's border (little context),
    so a window counts less there: a separable Hann taper (outer product of
    :func:`taper_1d`), raised to ``floor`` so that a pixel seen by one
    window only still gets a weight, and no taper on sides that lie on the
    raster's outer edge.

    Args:
        window (tuple): (row, col, h, w) of the window.
        raster_size (tuple[int, int]): Raster (height, width).
        floor (float): Smallest weight, in (0, 1]. Defaults to 0.1.

    Returns:
        np.ndarray: (h, w) float32 in [floor, 1].
    """
    if not 0 < floor <= 1:
        raise ValueError(f'floor must be in (0, 1], got {floor}')
    row, col, height, width = window
    rows = taper_1d(height, row == 0, row + height == raster_size[0])
    cols = taper_1d(width, col == 0, col + width == raster_size[1])
    return np.maximum(np.outer(rows, cols), floor).astype(np.float32)


def max_overlap(starts: Sequence[int], window: int) -> int:
    """The most windows of size ``window`` at ``starts`` (one axis, see
    :func:`window_starts`) that cover one pixel; the last window, flush
    with the edge, may add one to ``ceil(window / stride)``."""
    edges = np.zeros(starts[-1] + window + 1, np.int64)
    np.add.at(edges, np.asarray(starts), 1)
    np.add.at(edges, np.asarray(starts) + window, -1)
    return int(np.cumsum(edges).max())
