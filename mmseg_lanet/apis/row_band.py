"""Blending window predictions in a band of rows as tall as one window."""
from typing import Iterator, List, Tuple

import torch
from torch import Tensor

from .window_plan import Window

# Rows normalised and handed out at a time: bounds the temporaries of
# :meth:`RowBandAccumulator.release` to this many rows of the raster width.
RELEASE_ROWS = 64


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
        device (str | torch.device): Where the sums live (the model's
            device, so windows are added without a copy).
        dtype (torch.dtype): Storage of the sums. float16 (default) halves
            the band; its relative rounding (< 1e-3) is below the 1/255 of
            the uint8 probability output and moves the argmax only where two
            classes tie within it.

    Attributes:
        scores (Tensor): (K, band_height, W), sums of weight x probability.
        top (int): First raster row not yet released.
    """

    def __init__(self, num_classes: int, band_height: int, width: int,
                 device='cpu', dtype: torch.dtype = torch.float16) -> None:
        self.band_height = band_height
        self.scores = torch.zeros(
            num_classes, band_height, width, device=device, dtype=dtype)
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

    def add(self, window: Window, probs: Tensor, weight: Tensor) -> None:
        """Add one window's probabilities (K, h, w) with weights (h, w)."""
        self.add_weighted(window, (probs * weight).to(self.scores.dtype))

    def add_weighted(self, window: Window, weighted: Tensor) -> None:
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

    def release(self, until: int) -> Iterator[Tuple[int, Tensor, Tensor]]:
        """Hand out the final rows ``[top, until)`` and free their storage.

        Yields:
            tuple: ``(first row, probs, valid)`` per chunk of at most
            ``RELEASE_ROWS`` rows: blended probabilities (K, n, W) float32
            and a (n, W) bool mask of the pixels that any window predicted.
        """
        while self.top < until:
            rows = min(until - self.top, RELEASE_ROWS,
                       self.band_height - self.top % self.band_height)
            start = self.top % self.band_height
            scores = self.scores[:, start:start + rows].to(torch.float32,
                                                          copy=True)
            weights = scores.sum(0)
            valid = weights > 0
            probs = scores.div_(weights.clamp_(min=1e-12))
            first = self.top
            self.scores[:, start:start + rows] = 0
            self.top += rows
            yield first, probs, valid
