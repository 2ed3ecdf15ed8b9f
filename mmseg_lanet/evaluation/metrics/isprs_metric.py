"""ISPRS 2D semantic labeling metric: OA, per-class F1, mean F1 and mIoU.
"""
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
from mmengine.dist import is_main_process
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from prettytable import PrettyTable

from mmseg.registry import METRICS
from ...datasets.isprs_classes import ISPRS_PALETTE
from ...datasets.raster_io import write_raster
from ..functional import confusion_matrix, isprs_scores


@METRICS.register_module()
class ISPRSMetric(BaseMetric):
    """Overall accuracy, per-class F1 and IoU, mean F1 and mIoU, by the
    ISPRS conventions and by MMSegmentation's, from the same predictions.

    The ISPRS benchmark (and the LANet paper) evaluates on the *eroded*
    reference, whose object boundaries are ignored: that is set by the data
    set (``seg_map_path`` under ``ann_eroded_dir``, 255 on boundaries), and
    the table says which label folder was evaluated. The metric then takes:

    - ``OA``: correctly classified pixels over all evaluated pixels, every
      class included (``oa_exclude`` can leave reference classes out);
    - ``mF1``, ``mIoU``: means over the classes not in ``mean_exclude``
      (ISPRS: the five classes without clutter);
    - ``mIoU_with_clutter``, ``mF1_with_clutter``: means over all classes,
      MMSegmentation's model zoo convention (its ``IoUMetric`` mIoU);
    - ``F1.<class>``, ``IoU.<class>``: per class.

    All values are percentages rounded to 2 decimals. A class absent from
    both reference and prediction scores NaN and is left out of the means.

    Per sample, a confusion matrix is computed on the prediction's device;
    BaseMetric gathers them from all ranks (``collect_device``) and the
    metrics are computed from their sum.

    Args:
        ignore_index (int): Reference index not evaluated. Defaults to 255.
        mean_exclude (Sequence[str]): Classes left out of ``mF1``/``mIoU``.
            Defaults to ``('clutter',)``.
        oa_exclude (Sequence[str]): Reference classes left out of ``OA``.
            Defaults to ``()`` (OA over all classes).
        collect_device (str): 'cpu' or 'gpu', for gathering across ranks.
        output_dir (str, optional): Where to write each prediction as
            ``<image name>.png`` (class indices 0-5) and, for the ISPRS
            benchmark's colour convention, ``<image name>_colour.png`` (RGB
            palette). ``tools/test.py --out DIR`` sets it. Default: None.
        format_only (bool): Only write the predictions, compute no metric
            (for images without reference). Needs ``output_dir``.
            Default: False.
        prefix (str, optional): Prefix of the metric keys.
        confusion_matrix_path (str, optional): Also draw the summed
            confusion matrix (row-normalised, counts in the cells) into this
            PNG. ``tools/test.py --confusion-matrix PATH`` sets it.
            Default: None.
        **kwargs: Accepted and ignored, as MMSeg's ``IoUMetric`` does (its
            test tool passes ``keep_results``).
    """
    default_prefix: Optional[str] = None

    def __init__(self,
                 ignore_index: int = 255,
                 mean_exclude: Sequence[str] = ('clutter', ),
                 oa_exclude: Sequence[str] = (),
                 collect_device: str = 'cpu',
                 output_dir: Optional[str] = None,
                 format_only: bool = False,
                 prefix: Optional[str] = None,
                 confusion_matrix_path: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if format_only and not output_dir:
            raise ValueError('ISPRSMetric: format_only=True needs output_dir')
        self.output_dir = output_dir
        self.confusion_matrix_path = confusion_matrix_path
        self.format_only = format_only
        self.ignore_index = ignore_index
        self.mean_exclude = tuple(mean_exclude)
        self.oa_exclude = tuple(oa_exclude)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Add the confusion matrix of each sample to ``self.results``.

        Args:
            data_batch (dict): The batch from the data loader (unused).
            data_samples (Sequence[dict]): Model outputs with
                ``pred_sem_seg`` and ``gt_sem_seg``.
        """
        num_classes = len(self.dataset_meta['classes'])
        for data_sample in data_samples:
            pred = data_sample['pred_sem_seg']['data'].squeeze()
            if self.output_dir is not None:
                self.write_prediction(pred.cpu().numpy(),
                                      data_sample['img_path'])
            if self.format_only:
                continue
            label = data_sample['gt_sem_seg']['data'].squeeze().to(pred)
            self.results.append(
                dict(
                    confusion=confusion_matrix(pred, label, num_classes,
                                               self.ignore_index),
                    label_dir=osp.basename(
                        osp.dirname(
                            osp.dirname(data_sample.get('seg_map_path',
                                                        ''))))))

    def write_prediction(self, pred: np.ndarray, img_path: str) -> None:
        """Write one (H, W) prediction as index and colour PNGs."""
        name = osp.splitext(osp.basename(img_path))[0]
        index = pred.astype(np.uint8)
        write_raster(osp.join(self.output_dir, f'{name}.png'), index)
        colour = np.asarray(ISPRS_PALETTE, np.uint8)[index]
        colour_path = osp.join(self.output_dir, f'{name}_colour.png')
        if not cv2.imwrite(colour_path, colour[..., ::-1]):  # BGR order
            raise OSError(f'{colour_path}: OpenCV failed to write the PNG')

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Sum the confusion matrices, compute and print the scores.

        Returns:
            dict[str, float]: ``OA``, ``mF1``, ``mIoU``,
            ``mF1_with_clutter``, ``mIoU_with_clutter``, ``F1.<class>`` and
            ``IoU.<class>``, in percent.
        """
        if self.format_only:
            if is_main_process():
                print_log(f'predictions written to {self.output_dir}',
                          logger=MMLogger.get_current_instance())
            return OrderedDict()
        class_names = list(self.dataset_meta['classes'])
        confusion = np.sum([r['confusion'] for r in results], axis=0)
        scores = isprs_scores(confusion, class_names, self.mean_exclude,
                              self.oa_exclude)
        metrics = OrderedDict(
            OA=scores['OA'],
            mF1=scores['mF1'],
            mIoU=scores['mIoU'],
            mF1_with_clutter=scores['mF1_all'],
            mIoU_with_clutter=scores['mIoU_all'])
        for name, f1, iou in zip(class_names, scores['f1'], scores['iou']):
            metrics[f'F1.{name}'] = f1
            metrics[f'IoU.{name}'] = iou
        metrics = OrderedDict(
            (key, round(float(value) * 100, 2)) for key, value in
            metrics.items())
        label_dirs = sorted({r['label_dir'] for r in results} - {''})
        if self.confusion_matrix_path:
            from ...visualization import plot_confusion_matrix
            plot_confusion_matrix(
                self.confusion_matrix_path, confusion, class_names,
                f'OA {metrics["OA"]:.2f} %, {int(confusion.sum())} pixels '
                f'({", ".join(label_dirs) or "labels"})')
            print_log(f'confusion matrix drawn in '
                      f'{self.confusion_matrix_path}',
                      logger=MMLogger.get_current_instance())
        print_log(
            '\n' + self.format_table(scores, class_names, int(
                confusion.sum()), label_dirs),
            logger=MMLogger.get_current_instance())
        return metrics

    def format_table(self, scores: dict, class_names: Sequence[str],
                     num_pixels: int, label_dirs: Sequence[str]) -> str:
        """The per-class and summary tables printed after evaluation."""
        per_class = PrettyTable(
            ['Class', 'F1', 'IoU', 'Precision', 'Recall', 'in means'])
        for i, name in enumerate(class_names):
            per_class.add_row([name] + [
                _percent(scores[key][i])
                for key in ('f1', 'iou', 'precision', 'recall')
            ] + ['yes' if name in scores['mean_classes'] else 'no'])
        left_out = ', '.join(self.mean_exclude) or 'none'
        num_kept = len(scores['mean_classes'])
        means = f'mean of {num_kept} classes ({left_out} out)'
        oa_over = ('all classes' if not self.oa_exclude else
                   f'all classes but {", ".join(self.oa_exclude)}')
        summary = PrettyTable(['Score', 'Value', 'Convention'])
        summary.align = 'l'
        summary.add_row(['OA', _percent(scores['OA']), f'ISPRS: {oa_over}'])
        summary.add_row(['mF1', _percent(scores['mF1']),
                         f'ISPRS, LANet paper: {means}'])
        summary.add_row(['mIoU', _percent(scores['mIoU']), f'ISPRS: {means}'])
        all_classes = f'mean of all {len(class_names)} classes'
        summary.add_row(['mF1_with_clutter', _percent(scores['mF1_all']),
                         all_classes])
        summary.add_row(['mIoU_with_clutter', _percent(scores['mIoU_all']),
                         f'MMSeg convention: {all_classes}'])
        labels = ', '.join(label_dirs) or 'unknown'
        header = (f'ISPRS evaluation of {num_pixels} pixels, labels from '
                  f'{labels} (ignore index {self.ignore_index} not counted)')
        return f'{header}\n{per_class.get_string()}\n{summary.get_string()}'


def _percent(value: float) -> str:
    return 'nan' if np.isnan(value) else f'{value * 100:.2f}'
