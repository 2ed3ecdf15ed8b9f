"""Loading ISPRS class-index label maps, checked against their image."""
import os.path as osp
from typing import Optional

import mmengine.fileio as fileio
import numpy as np

from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS
from ..raster_io import decode_raster, read_raster


def apply_label_map(label: np.ndarray, results: dict) -> np.ndarray:
    """The data set's ``label_map`` (old -> new class index), as MMSeg's
    ``LoadAnnotations`` applies it; ``label`` unchanged without one."""
    label_map = results.get('label_map')
    if not label_map:
        return label
    mapped = label.copy()
    for old_id, new_id in label_map.items():
        mapped[label == old_id] = new_id
    return mapped


def check_labels(label: np.ndarray,
                 results: dict,
                 ignore_index: int = 255,
                 num_classes: Optional[int] = None) -> None:
    """Check a label map (or window) against its image; errors name the
    file.

    Args:
        label (np.ndarray): Class indices; must be (H, W) with the size of
            ``results['img']`` when that is loaded.
        results (dict): Holds ``seg_map_path``, optionally ``img``,
            ``img_path`` and ``num_classes`` (wins over ``num_classes``).
        ignore_index (int): Allowed besides the class indices.
        num_classes (int, optional): Number of classes; None skips the
            range check.
    """
    path = results['seg_map_path']
    if label.ndim != 2:
        raise ValueError(
            f'{path}: label map has shape {label.shape}, expected (H, W) '
            'class indices; convert colour labels with '
            'tools/dataset_converters first')
    if 'img' in results and label.shape != results['img'].shape[:2]:
        raise ValueError(f'{path}: label map is {label.shape}, its image '
                         f'{results["img_path"]} is '
                         f'{results["img"].shape[:2]}')
    num_classes = results.get('num_classes', num_classes)
    if num_classes is not None:
        invalid = (label >= num_classes) & (label != ignore_index)
        if invalid.any():
            raise ValueError(
                f'{path}: label values {np.unique(label[invalid])} are '
                f'neither a class index (0..{num_classes - 1}) nor the '
                f'ignore index {ignore_index}')


@TRANSFORMS.register_module()
class LoadISPRSAnnotations(LoadAnnotations):
    """MMSeg's ``LoadAnnotations``, reading through ``raster_io`` (label
    maps may be PNG or the windowed layout's TIFF), plus checks that name
    the file.

    After loading ``seg_map_path`` (and applying the data set's label map,
    if any), the label map must be 2-D (a colour label TIFF has to be
    converted first), have the image's size when the image is loaded, and
    hold only class indices below ``num_classes`` or the ignore index.

    Required keys: ``seg_map_path``; optionally ``num_classes`` (from the
    data set) and ``img``.

    Args:
        num_classes (int, optional): Used when the results carry no
            ``num_classes``. Defaults to None (no range check then).
        ignore_index (int): Allowed besides the class indices. Defaults to
            255.
        **kwargs: See :class:`mmseg.datasets.transforms.LoadAnnotations`.
    """

    def __init__(self,
                 num_classes: int = None,
                 ignore_index: int = 255,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def _load_seg_map(self, results: dict) -> None:
        path = results['seg_map_path']
        if results.get('reduce_zero_label'):
            raise ValueError(f'{path}: reduce_zero_label is not supported '
                             'for ISPRS label maps (class 0 is real)')
        if osp.isfile(path):
            label = read_raster(path)
        else:  # a remote backend (e.g. s3://): fetch the bytes
            label = decode_raster(
                fileio.get(path, backend_args=self.backend_args), path)
        label = apply_label_map(np.squeeze(label).astype(np.uint8), results)
        check_labels(label, results, self.ignore_index, self.num_classes)
        results['gt_seg_map'] = label
        results.setdefault('seg_fields', []).append('gt_seg_map')

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index})')
