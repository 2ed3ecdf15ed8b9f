"""Blending window predictions in a band of rows as tall as one window."""
from typing import Iterator, Tuple

import torch
from torch import Tensor

from .window_plan import Window


class RowBandAccumulator:
    """Weighted sums of class probabilities over a band of raster rows.

    Windows are added in row-major plan order. Once a window starting at
    row ``r`` is added, no later window touches rows above ``r``, so those
    rows are final: :meth:`release` normalises and hands them out and the
    band moves down. The band is only one window tall, whatever the raster
    height: memory grows with the raster's width, never its height.

    Args:
        num_classes (int): K, probabilities per pixel.
        band_height (int): Rows held, at least the window height.
        width (int): Raster width W.
        device (str | torch.device): Where the sums live (the model's
            device, so windows are added without a copy).

    Attributes:
        scores (Tensor): (K, band_height, W) float32, sum of weight x
            probability.
        weights (Tensor): (band_height, W) float32, sum of weights; 0 where
            no window (or only nodata) covered a pixel.
        top (int): Raster row of the band's first row.
    """

    def __init__(self, num_classes: int, band_height: int, width: int,
                 device='cpu') -> None:
        self.band_height = band_height
        self.scores = torch.zeros(
            num_classes, band_height, width, device=device)
        self.weights = torch.zeros(band_height, width, device=device)
        self.top = 0

    def add(self, window: Window, probs: Tensor, weight: Tensor) -> None:
        """Add one window's probabilities (K, h, w) with weights (h, w)."""
        row, col, height, width = window
        start = row - self.top
        if start < 0 or start + height > self.band_height:
            raise ValueError(
                f'window at row {row} (height {height}) is outside the band '
                f'of rows [{self.top}, {self.top + self.band_height}); add '
                'windows in plan order and release rows above each one')
        self.scores[:, start:start + height, col:col + width] += probs * weight
        self.weights[start:start + height, col:col + width] += weight

    def release(self, until: int) -> Iterator[Tuple[int, Tensor, Tensor]]:
        """Hand out the final rows ``[top, until)`` and move the band down.

        Yields:
            tuple: ``(first row, probs, valid)`` per chunk of at most
            ``band_height`` rows: blended probabilities (K, n, W) and a
            (n, W) bool mask of pixels that any window predicted.
        """
        while self.top < until:
            rows = min(until - self.top, self.band_height)
            weights = self.weights[:rows]
            probs = self.scores[:, :rows] / weights.clamp(min=1e-12)
            valid = weights > 0
            first = self.top
            self._shift(rows)
            yield first, probs, valid

    def _shift(self, rows: int) -> None:
        """Move the band ``rows`` down the raster without a second buffer:
        chunks of ``rows`` rows are copied upwards, top first, so every
        source chunk is read before it is overwritten."""
        keep = self.band_height - rows
        for start in range(0, keep, rows):
            stop = min(start + rows, keep)
            self.scores[:, start:stop] = self.scores[:, start + rows:stop +
                                                     rows]
            self.weights[start:stop] = self.weights[start + rows:stop + rows]
        self.scores[:, keep:] = 0
        self.weights[keep:] = 0
        self.top += rows
