"""Crop-first training loading: read only the crop of a whole tile."""
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS
from ..malloc_tuning import reuse_freed_memory
from ..georaster import RasterReader
from ..raster_io import Window, raster_shape
from .load_annotations import apply_label_map, check_labels
from .load_multiband import stack_bands


def _dominated(labels: np.ndarray, ignore_index: int,
               cat_max_ratio: float) -> bool:
    """MMSeg ``RandomCrop``'s re-draw test: fewer than two classes, or one
    class over ``cat_max_ratio`` of the pixels not ignored.

    ``np.bincount`` gives the counts of ``np.unique`` (absent classes are
    dropped) at a fraction of its cost on uint8 labels.
    """
    if labels.dtype == np.uint8:
        counts = np.bincount(labels.ravel(), minlength=256)
        if 0 <= ignore_index < 256:
            counts[ignore_index] = 0
        counts = counts[counts > 0]
    else:
        values, counts = np.unique(labels, return_counts=True)
        counts = counts[values != ignore_index]
    return not (len(counts) > 1
                and counts.max() / counts.sum() < cat_max_ratio)


def _read_as_stored(path: str, window: Window) -> np.ndarray:
    """A window of a file as the whole-tile loader reads the file: (h, w)
    for one band, else (h, w, C) (a view of the reader's band planes)."""
    bands = RasterReader(path, georeferenced=False).read(window)
    return bands[0] if bands.shape[0] == 1 else bands.transpose(1, 2, 0)


@TRANSFORMS.register_module()
class LoadMultiBandCrop(BaseTransform):
    """Load a random crop of a tile: optical bands, height band and labels.

    Replaces ``LoadMultiBandImageFromFile`` -> ``LoadISPRSAnnotations`` ->
    ``RandomCrop`` with the same result for the same random state, while
    reading only the crop from files in the windowed layout (uncompressed
    TIFF or ``.npy``, see ``georaster.RasterReader``, the predictor's
    reader too): the window is drawn
    first from the tile's size (known from its header), exactly as MMSeg's
    ``RandomCrop`` draws it, including the ``cat_max_ratio`` re-draws (up to
    10, evaluated on the window's labels); then that window of each file is
    read. Files in another layout (PNG labels, compressed TIFF) are decoded
    whole, once per sample, and cropped.

    The crop's ``ori_shape`` is the tile's, as after ``RandomCrop``:
    ``NormalizeDSM(mode='per_tile')`` after this transform uses the whole
    tile's statistics from the data set (``dsm_stats``).

    Required keys: ``img_path``, ``seg_map_path`` (unless
    ``with_labels=False``); from :class:`ISPRSMultiBandDataset` also
    ``band_names``, ``file_band_names``, ``band_indices``, ``dsm_path``
    (with a height band), ``tile_shape`` (else read from the header),
    ``num_classes`` and ``label_map``.

    Added keys: ``img`` ((h, w, C), as ``LoadMultiBandImageFromFile``),
    ``img_shape`` (the crop's), ``ori_shape`` (the tile's),
    ``gt_seg_map`` ((h, w) uint8), ``seg_fields``, ``crop_window``
    ((row, col, h, w)).

    Args:
        crop_size (int | tuple[int, int]): (h, w) of the crop.
        cat_max_ratio (float): Re-draw the window (up to 10 times) while
            one class covers more than this share of its labelled pixels.
            Defaults to 1.0 (never).
        ignore_index (int): Label ignored by that test and allowed in the
            labels. Defaults to 255.
        num_bands (int, optional): Expected number of output bands.
        with_labels (bool): Also load the label window. Defaults to True.
    """

    def __init__(self,
                 crop_size: Union[int, Sequence[int]],
                 cat_max_ratio: float = 1.0,
                 ignore_index: int = 255,
                 num_bands: Optional[int] = None,
                 with_labels: bool = True) -> None:
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        if len(crop_size) != 2 or min(crop_size) <= 0:
            raise ValueError('LoadMultiBandCrop: crop_size must be a '
                             f'positive (h, w), got {crop_size}')
        self.crop_size = tuple(int(side) for side in crop_size)
        self.cat_max_ratio = cat_max_ratio
        self.ignore_index = ignore_index
        self.num_bands = num_bands
        self.with_labels = with_labels

    def _random_window(self, tile_shape: Tuple[int, int]) -> Window:
        # The draws of mmseg RandomCrop.crop_bbox, in its order.
        margin_h = max(tile_shape[0] - self.crop_size[0], 0)
        margin_w = max(tile_shape[1] - self.crop_size[1], 0)
        row = np.random.randint(0, margin_h + 1)
        col = np.random.randint(0, margin_w + 1)
        return row, col, self.crop_size[0], self.crop_size[1]

    def _choose_window(self, results: dict, tile_shape: Tuple[int, int],
                       labels: Optional[RasterReader]
                       ) -> Tuple[Window, Optional[np.ndarray]]:
        """The window, and its labels as stored when the re-draw test read
        them (kept for the sample, not read twice)."""
        window = self._random_window(tile_shape)
        stored = None
        if self.cat_max_ratio < 1. and labels is not None:
            for _ in range(10):
                stored = labels.read(window)[0]
                seg = apply_label_map(stored, results)
                if not _dominated(seg, self.ignore_index,
                                  self.cat_max_ratio):
                    break
                window = self._random_window(tile_shape)
                stored = None
        return window, stored

    def _tile_shape(self, results: dict) -> Tuple[int, int]:
        tile_shape = tuple(results.get('tile_shape')
                           or raster_shape(results['img_path'])[:2])
        if (tile_shape[0] < self.crop_size[0]
                or tile_shape[1] < self.crop_size[1]):
            raise ValueError(
                f'{results["img_path"]}: the tile is {tile_shape[0]} x '
                f'{tile_shape[1]} px, smaller than the crop size '
                f'{self.crop_size[0]} x {self.crop_size[1]}; use a smaller '
                'crop_size (or tiles converted with --mode tiles)')
        return tile_shape

    def transform(self, results: dict) -> dict:
        """Draw the window, then read it from every file.

        Args:
            results (dict): Sample info from the data set.

        Returns:
            dict: ``results`` with the crop's image and labels.
        """
        # The first sample of each worker sets its allocator (see
        # malloc_tuning): page faults were half of a sample's CPU time.
        reuse_freed_memory()
        tile_shape = self._tile_shape(results)
        labels = (RasterReader(results['seg_map_path'], georeferenced=False)
                  if self.with_labels else None)
        window, stored_labels = self._choose_window(results, tile_shape,
                                                    labels)
        optical = _read_as_stored(results['img_path'], window)
        height_path = results.get('dsm_path')
        height = (_read_as_stored(height_path, window)
                  if height_path else None)
        img = stack_bands(results, optical, height, self.num_bands)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = tile_shape
        results['crop_window'] = window
        if labels is not None:
            if stored_labels is None:
                stored_labels = labels.read(window)[0]
            label = apply_label_map(
                stored_labels.astype(np.uint8, copy=False), results)
            check_labels(label, results, self.ignore_index)
            results['gt_seg_map'] = label
            results.setdefault('seg_fields', []).append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f'cat_max_ratio={self.cat_max_ratio}, ignore_index='
                f'{self.ignore_index}, num_bands={self.num_bands}, '
                f'with_labels={self.with_labels})')
