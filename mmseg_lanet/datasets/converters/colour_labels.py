"""Decoding ISPRS colour label maps into class indices.

The official label TIFFs paint each class in a pure colour (0 or 255 per
channel), but some Potsdam tiles (e.g. 4_12 and 6_7) contain off-palette
colours such as (252, 0, 3). Each channel is therefore binarised at a
threshold (127 by default) and the resulting 3-bit colour is looked up:
a pixel "snaps" to the palette colour with the same bits. Bit patterns that
belong to no class (magenta (1, 0, 1), or black in a reference without
boundaries) are *unknown*: they are set to the ignore index and counted per
original colour, so that the converter can report them instead of guessing.
"""
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

Colour = Tuple[int, int, int]


@dataclass
class ColourReport:
    """What decoding one label map found.

    Attributes:
        pixels (int): Number of pixels decoded.
        off_palette (int): Pixels whose colour is not exactly a palette (or
            boundary) colour but snapped to one by the channel threshold.
        unknown (Counter): Original RGB colour -> number of pixels whose
            thresholded colour matches no class; they are set to ignore.
    """
    pixels: int = 0
    off_palette: int = 0
    unknown: Counter = field(default_factory=Counter)

    @property
    def num_unknown(self) -> int:
        return sum(self.unknown.values())

    def to_dict(self, most_common: int = 20) -> Dict:
        """A JSON-friendly summary: counts, and the most frequent unknown
        colours (most frequent first)."""
        return dict(
            pixels=self.pixels,
            off_palette=self.off_palette,
            unknown=self.num_unknown,
            unknown_colours=[[list(colour), count] for colour, count in
                             self.unknown.most_common(most_common)])


def _pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 -> (...) int32 with the colour as 0xRRGGBB."""
    rgb = rgb.astype(np.int32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def decode_colour_labels(
        rgb: np.ndarray,
        palette: Sequence[Colour],
        ignore_colour: Optional[Colour] = None,
        ignore_index: int = 255,
        threshold: int = 127) -> Tuple[np.ndarray, ColourReport]:
    """Convert an RGB label map into class indices.

    Args:
        rgb (np.ndarray): (H, W, 3) uint8 label colours in RGB order.
        palette (Sequence[tuple]): Colour of class ``i`` at position ``i``;
            every channel must be 0 or 255.
        ignore_colour (tuple, optional): A colour decoded to ``ignore_index``
            (the black boundary of eroded references). None when the map has
            no boundary class, so that black pixels are reported as unknown.
        ignore_index (int): Index written for ignored and unknown pixels.
        threshold (int): A channel value above it counts as 255, else as 0.

    Returns:
        tuple[np.ndarray, ColourReport]: (H, W) uint8 class indices and what
        was found.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f'expected an (H, W, 3) colour map, got {rgb.shape}')
    exact_colours = list(palette) + ([ignore_colour] if ignore_colour else [])
    for colour in exact_colours:
        if any(c not in (0, 255) for c in colour):
            raise ValueError(f'palette colour {colour} is not pure (0/255)')

    unknown_value = -1
    # Look-up table from the 3-bit thresholded colour to the class index.
    bits_to_index = np.full(8, unknown_value, dtype=np.int32)
    for index, colour in enumerate(palette):
        bits_to_index[_pack_bits(colour)] = index
    if ignore_colour is not None:
        bits_to_index[_pack_bits(ignore_colour)] = ignore_index

    high = rgb > threshold
    bits = (high[..., 0].astype(np.int32) << 2) | (
        high[..., 1].astype(np.int32) << 1) | high[..., 2]
    decoded = bits_to_index[bits]

    packed = _pack_rgb(rgb)
    is_exact = np.isin(packed, _pack_rgb(np.array(exact_colours)))
    is_unknown = decoded == unknown_value

    report = ColourReport(
        pixels=int(decoded.size),
        off_palette=int(np.count_nonzero(~is_exact & ~is_unknown)))
    if is_unknown.any():
        values, counts = np.unique(packed[is_unknown], return_counts=True)
        report.unknown.update({
            ((int(v) >> 16) & 255, (int(v) >> 8) & 255, int(v) & 255): int(n)
            for v, n in zip(values, counts)
        })
        decoded[is_unknown] = ignore_index
    return decoded.astype(np.uint8), report


def _pack_bits(colour: Colour) -> int:
    """The 3-bit code (R, G, B high/low) of a pure colour."""
    return (int(colour[0] > 127) << 2) | (int(colour[1] > 127) << 1) | int(
        colour[2] > 127)
