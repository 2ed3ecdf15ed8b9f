"""Windows for cutting a tile into overlapping crops."""
from typing import List, Tuple

Window = Tuple[int, int, int, int]  # (y0, x0, y1, x1), end exclusive


def crop_starts(length: int, crop: int, stride: int) -> List[int]:
    """Start offsets of crops along one axis.

    Crops start every ``stride`` pixels; if the last one does not reach the
    end, one more crop is aligned with the end, so that every pixel is
    covered and no crop leaves the tile. A tile shorter than ``crop`` gives
    one crop of the tile's length.

    Args:
        length (int): Tile length in pixels.
        crop (int): Crop length.
        stride (int): Distance between consecutive crop starts.

    Returns:
        list[int]: Increasing start offsets.
    """
    if crop <= 0 or stride <= 0:
        raise ValueError(f'crop ({crop}) and stride ({stride}) must be > 0')
    if stride > crop:
        raise ValueError(f'stride ({stride}) larger than crop ({crop}) '
                         'would leave pixels out of every crop')
    if length <= crop:
        return [0]
    starts = list(range(0, length - crop + 1, stride))
    if starts[-1] + crop < length:
        starts.append(length - crop)
    return starts


def crop_windows(height: int, width: int, crop: int,
                 stride: int) -> List[Window]:
    """All crop windows of a tile, row by row.

    Args:
        height (int): Tile height.
        width (int): Tile width.
        crop (int): Crop side length.
        stride (int): Stride between crops, along both axes.

    Returns:
        list[tuple]: ``(y0, x0, y1, x1)`` windows.
    """
    return [(y, x, min(y + crop, height), min(x + crop, width))
            for y in crop_starts(height, crop, stride)
            for x in crop_starts(width, crop, stride)]
