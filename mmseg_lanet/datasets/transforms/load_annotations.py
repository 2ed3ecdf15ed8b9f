"""Loading ISPRS class-index label maps, checked against their image."""
import numpy as np

from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadISPRSAnnotations(LoadAnnotations):
    """MMSeg's ``LoadAnnotations``, plus checks that name the file.

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
        super()._load_seg_map(results)
        path, label = results['seg_map_path'], results['gt_seg_map']
        if label.ndim != 2:
            raise ValueError(
                f'{path}: label map has shape {label.shape}, expected (H, W) '
                'class indices; convert colour labels with '
                'tools/dataset_converters first')
        if 'img' in results and label.shape != results['img'].shape[:2]:
            raise ValueError(f'{path}: label map is {label.shape}, its image '
                             f'{results["img_path"]} is '
                             f'{results["img"].shape[:2]}')
        num_classes = results.get('num_classes', self.num_classes)
        if num_classes is not None:
            invalid = (label >= num_classes) & (label != self.ignore_index)
            if invalid.any():
                raise ValueError(
                    f'{path}: label values {np.unique(label[invalid])} are '
                    f'neither a class index (0..{num_classes - 1}) nor the '
                    f'ignore index {self.ignore_index}')

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index})')
