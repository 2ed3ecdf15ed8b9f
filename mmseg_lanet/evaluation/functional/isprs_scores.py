"""Confusion matrices and the ISPRS 2D semantic labeling scores.

Definitions, for a confusion matrix ``C`` whose row ``i`` counts the
reference pixels of class ``i`` by predicted class (ignored pixels are never
counted):

- precision_i = C[i, i] / sum_j C[j, i],  recall_i = C[i, i] / sum_j C[i, j]
- F1_i = 2 precision_i recall_i / (precision_i + recall_i)
       = 2 C[i, i] / (sum_j C[i, j] + sum_j C[j, i])
- IoU_i = C[i, i] / (sum_j C[i, j] + sum_j C[j, i] - C[i, i])
- OA = sum_i C[i, i] / sum_ij C[i, j] over the reference classes kept
  (all of them by default).

A class absent from both reference and prediction has undefined (NaN)
scores, left out of the means.
"""
from typing import Dict, Sequence

import numpy as np
import torch


def confusion_matrix(pred: torch.Tensor, label: torch.Tensor,
                     num_classes: int, ignore_index: int) -> np.ndarray:
    """Count reference/prediction pairs.

    Args:
        pred (torch.Tensor): (H, W) predicted class indices.
        label (torch.Tensor): (H, W) reference class indices; pixels equal to
            ``ignore_index`` are not counted.
        num_classes (int): Number of classes.
        ignore_index (int): Index of ignored reference pixels.

    Returns:
        np.ndarray: (num_classes, num_classes) int64, rows = reference.
    """
    if pred.shape != label.shape:
        raise ValueError(f'prediction {tuple(pred.shape)} and reference '
                         f'{tuple(label.shape)} differ in size')
    valid = label != ignore_index
    label, pred = label[valid].long(), pred[valid].long()
    out_of_range = (label < 0) | (label >= num_classes)
    if out_of_range.any():
        raise ValueError(f'reference holds class indices outside [0, '
                         f'{num_classes}) other than the ignore index '
                         f'{ignore_index}: {label[out_of_range].unique()}')
    counts = torch.bincount(
        label * num_classes + pred, minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes).cpu().numpy().astype(
        np.int64)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(denominator > 0, numerator / np.maximum(
            denominator, 1), np.nan)


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float('nan')


def isprs_scores(confusion: np.ndarray,
                 class_names: Sequence[str],
                 mean_exclude: Sequence[str] = ('clutter', ),
                 oa_exclude: Sequence[str] = ()) -> Dict[str, object]:
    """Scores of a confusion matrix, as fractions in [0, 1].

    Args:
        confusion (np.ndarray): (K, K) counts, rows = reference.
        class_names (Sequence[str]): The K class names.
        mean_exclude (Sequence[str]): Classes left out of ``mF1`` and
            ``mIoU`` (ISPRS: clutter). ``mF1_all``/``mIoU_all`` keep every
            class.
        oa_exclude (Sequence[str]): Reference classes whose pixels are left
            out of OA (ISPRS: none).

    Returns:
        dict: ``precision``, ``recall``, ``f1``, ``iou`` (arrays of K),
        ``OA``, ``mF1``, ``mIoU``, ``mF1_all``, ``mIoU_all`` (floats) and
        ``mean_classes`` (names averaged in ``mF1``/``mIoU``).
    """
    class_names = list(class_names)
    for name in (*mean_exclude, *oa_exclude):
        if name not in class_names:
            raise ValueError(f'class {name!r} to exclude is not one of '
                             f'{class_names}')
    confusion = np.asarray(confusion, dtype=np.float64)
    true_positive = np.diag(confusion)
    reference = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    f1 = _ratio(2 * true_positive, reference + predicted)
    iou = _ratio(true_positive, reference + predicted - true_positive)
    in_mean = np.array([name not in mean_exclude for name in class_names])
    in_oa = np.array([name not in oa_exclude for name in class_names])
    return dict(
        precision=_ratio(true_positive, predicted),
        recall=_ratio(true_positive, reference),
        f1=f1,
        iou=iou,
        OA=float(_ratio(true_positive[in_oa].sum(), reference[in_oa].sum())),
        mF1=_nanmean(f1[in_mean]),
        mIoU=_nanmean(iou[in_mean]),
        mF1_all=_nanmean(f1),
        mIoU_all=_nanmean(iou),
        mean_classes=[n for n, kept in zip(class_names, in_mean) if kept])
