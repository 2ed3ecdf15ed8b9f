"""Blending window predictions in a band of rows as tall as one window."""
from typing import Iterator, List, Optional, Sequence, Tuple

from .array_ops import ArrayOps, ops_for_dtype
from .window_plan import Window

# Rows normalised and handed out at a time: bounds the temporaries of
# :meth:`RowBandAccumulator.release` to this many rows of the raster width.
RELEASE_ROWS = 64
# Unit roundoff of float16 (10 stored mantissa bits, rounding to nearest).
FLOAT16_ROUNDOFF = 2.**-11
# The largest error of a released probability that float16 sums may make:
# one step of the uint8 probability output.
FLOAT16_TOLERANCE = 1 / 255


def float16_error_bound(overlap: int) -> float:
    """Bound on the error of a released probability when the sums of
    ``overlap`` windows are kept in float16.

    Each of the ``overlap`` weighted terms of a class's sum is rounded once
    and each partial sum once, so a sum is off by at most ``overlap * u``
    of itself (u = 2^-11, first order). Normalising (in float32) cancels the
    part common to all classes: class k's probability p is off by at most
    ``2 * overlap * u * p * (1 - p)`` <= ``overlap * u / 2``. Terms below
    float16's normal range (6e-5) are rounded in absolute terms, at most
    6e-8 each, which is negligible here.
    """
    return overlap * FLOAT16_ROUNDOFF / 2


def band_dtype_for(overlap: int) -> str:
    """'float16' while :func:`float16_error_bound` stays within one uint8
    step of probability (1/255: at most 16 windows over a pixel, e.g. 512
    windows every 128 pixels or more), else 'float32'."""
    return ('float16' if float16_error_bound(overlap) <= FLOAT16_TOLERANCE
            else 'float32')


class RowBandAccumulator:
    """Weighted sums of class probabilities over a band of raster rows.

    Windows are added in row-major plan order. Once a window starting at
    row ``r`` is added, no later window touches rows above ``r``, so those
    rows are final: :meth:`release` normalises and hands them out and their
    storage is reused for the rows below (a ring buffer: raster row ``i``
    lives in band row ``i % band_height``, nothing is copied). The band is
    one window tall whatever the raster height: memory grows with the
    raster's width, never its height.

    A window's probabilities sum to 1, so the sum over classes of the
    weighted sums is the sum of the weights: no separate weight map is kept,
    and released probabilities sum to 1 exactly.

    Args:
        num_classes (int): K, probabilities per pixel.
        band_height (int): Rows held, at least the window height.
        width (int): Raster width W.
        device (str | torch.device, optional): Where torch sums live (the
            model's device, so windows are added without a copy); None:
            numpy on the host, unless ``dtype`` is a torch dtype.
        dtype (str | np.dtype | torch.dtype): Storage of the sums. float16
            (default) halves the band; its error grows with the windows
            over a pixel (:func:`float16_error_bound`; :func:`band_dtype_for`
            picks float32 where it would exceed 1/255).
        ops (ArrayOps, optional): The array operations (overrides
            ``device``).

    Attributes:
        scores (array): (K, band_height, W), sums of weight x probability.
        top (int): First raster row not yet released.
    """

    def __init__(self, num_classes: int, band_height: int, width: int,
                 device=None, dtype='float16',
                 ops: Optional[ArrayOps] = None) -> None:
        self.ops = ops or ops_for_dtype(dtype, device)
        self.band_height = band_height
        self.scores = self.ops.zeros((num_classes, band_height, width), dtype)
        self.top = 0

    def _spans(self, first: int, rows: int) -> List[Tuple[int, int, int]]:
        """Raster rows ``[first, first + rows)`` as (band start, band stop,
        offset in the rows) pieces, split where the ring wraps."""
        start = first % self.band_height
        head = min(rows, self.band_height - start)
        spans = [(start, start + head, 0)]
        if head < rows:
            spans.append((0, rows - head, head))
        return spans

    def add(self, window: Window, probs, weight) -> None:
        """Add one window's probabilities (K, h, w) with weights (h, w)."""
        self.add_weighted(window, self.ops.multiply(
            probs, weight, self.scores.dtype))

    def add_weighted(self, window: Window, weighted) -> None:
        """Add one window's weighted probabilities (K, h, w), already of
        the band's dtype (a batch is weighted and converted in one step)."""
        row, col, height, width = window
        if row < self.top or row + height > self.top + self.band_height:
            raise ValueError(
                f'window at row {row} (height {height}) is outside the band '
                f'of rows [{self.top}, {self.top + self.band_height}); add '
                'windows in plan order and release rows above each one')
        for start, stop, offset in self._spans(row, height):
            rows = slice(offset, offset + stop - start)
            self.scores[:, start:stop, col:col + width] += weighted[:, rows]

    def release(self, until: int) -> Iterator[Tuple[int, Sequence, Sequence]]:
        """Hand out the final rows ``[top, until)`` and free their storage.

        Yields:
            tuple: ``(first row, probs, valid)`` per chunk of at most
            ``RELEASE_ROWS`` rows: blended probabilities (K, n, W) float32
            and a (n, W) bool mask of the pixels that any window predicted,
            arrays of the band's kind.
        """
        ops = self.ops
        while self.top < until:
            rows = min(until - self.top, RELEASE_ROWS,
                       self.band_height - self.top % self.band_height)
            start = self.top % self.band_height
            scores = ops.astype(self.scores[:, start:start + rows], 'float32')
            weights = scores.sum(0)
            valid = weights > 0
            probs = ops.divide_(scores, ops.clamp_min_(weights, 1e-12))
            first = self.top
            self.scores[:, start:start + rows] = 0
            self.top += rows
            yield first, probs, valid
