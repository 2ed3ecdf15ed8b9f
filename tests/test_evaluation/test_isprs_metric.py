"""ISPRSMetric against scores computed by hand on a small confusion matrix.
"""
import math

import numpy as np
import pytest
import torch

import mmseg_lanet  # noqa: F401  (registers ISPRSMetric)
from mmseg.registry import METRICS
from mmseg_lanet.evaluation import confusion_matrix, isprs_scores

CLASSES = ('impervious_surface', 'building', 'low_vegetation', 'tree', 'car',
           'clutter')
# Rows: reference class, columns: predicted class.
CONFUSION = np.array([[8, 1, 0, 0, 1, 0],
                      [0, 9, 0, 0, 0, 1],
                      [1, 0, 6, 3, 0, 0],
                      [0, 0, 2, 8, 0, 0],
                      [1, 0, 0, 0, 3, 0],
                      [2, 0, 0, 0, 0, 2]])
# By hand: reference totals 10, 10, 10, 10, 4, 4; predicted totals 12, 10,
# 8, 11, 4, 3; F1 = 2 TP / (reference + predicted); IoU = TP / (reference +
# predicted - TP); OA = 36 / 48.
F1 = [16 / 22, 18 / 20, 12 / 18, 16 / 21, 6 / 8, 4 / 7]
IOU = [8 / 14, 9 / 11, 6 / 12, 8 / 13, 3 / 5, 2 / 5]
OA = 36 / 48


def samples_from_confusion(confusion, ignored=7):
    """Two data samples whose pixels realise ``confusion``, plus ``ignored``
    boundary pixels (reference 255) with wrong predictions."""
    label, pred = [], []
    for ref in range(6):
        for guess in range(6):
            label += [ref] * int(confusion[ref, guess])
            pred += [guess] * int(confusion[ref, guess])
    label += [255] * ignored
    pred += [3] * ignored
    label, pred = torch.tensor(label), torch.tensor(pred)
    half = len(label) // 2
    return [
        dict(pred_sem_seg=dict(data=p[None, None]),
             gt_sem_seg=dict(data=g[None, None]),
             seg_map_path='data/potsdam/ann_eroded_dir/val/2_13.png')
        for p, g in ((pred[:half], label[:half]), (pred[half:], label[half:]))
    ]


def evaluate(confusion, **kwargs):
    metric = METRICS.build(dict(type='ISPRSMetric', **kwargs))
    metric.dataset_meta = dict(classes=CLASSES)
    samples = samples_from_confusion(confusion)
    metric.process({}, samples[:1])
    metric.process({}, samples[1:])
    return metric.evaluate(2)


def test_scores_match_hand_computation_without_and_with_clutter():
    result = evaluate(CONFUSION)
    expected = {
        'OA': OA,
        'mF1': sum(F1[:5]) / 5,
        'mIoU': sum(IOU[:5]) / 5,
        'mF1_with_clutter': sum(F1) / 6,
        'mIoU_with_clutter': sum(IOU) / 6,
    }
    for name, f1, iou in zip(CLASSES, F1, IOU):
        expected[f'F1.{name}'] = f1
        expected[f'IoU.{name}'] = iou
    assert set(result) == set(expected)
    for key, value in expected.items():
        assert result[key] == pytest.approx(100 * value, abs=0.005), key
    # The same run gives the paper's numbers and MMSeg's convention.
    assert (result['OA'], result['mF1'], result['mIoU'],
            result['mIoU_with_clutter']) == (75.0, 76.12, 62.1, 58.42)


def test_options_change_the_conventions():
    result = evaluate(CONFUSION, mean_exclude=(), oa_exclude=('clutter', ))
    assert result['mF1'] == pytest.approx(100 * sum(F1) / 6, abs=0.005)
    # OA over the reference pixels of the five classes: 34 / 44.
    assert result['OA'] == pytest.approx(100 * 34 / 44, abs=0.005)
    with pytest.raises(ValueError, match="class 'background' to exclude is "
                       'not one of'):
        evaluate(CONFUSION, mean_exclude=('background', ))


def test_absent_class_is_nan_and_left_out_of_the_means():
    confusion = CONFUSION.copy()
    confusion[4] = 0
    confusion[:, 4] = 0
    scores = isprs_scores(confusion, CLASSES)
    assert math.isnan(scores['f1'][4]) and math.isnan(scores['iou'][4])
    f1 = 2 * np.diag(confusion) / (confusion.sum(0) + confusion.sum(1))
    assert scores['mF1'] == pytest.approx(f1[[0, 1, 2, 3]].mean())
    assert scores['mF1_all'] == pytest.approx(f1[[0, 1, 2, 3, 5]].mean())


def test_confusion_matrix_ignores_boundary_and_checks_input():
    label = torch.tensor([[0, 1, 255], [5, 255, 2]])
    pred = torch.tensor([[0, 2, 1], [5, 3, 2]])
    counts = confusion_matrix(pred, label, 6, 255)
    expected = np.zeros((6, 6), np.int64)
    expected[0, 0] = expected[1, 2] = expected[5, 5] = expected[2, 2] = 1
    np.testing.assert_array_equal(counts, expected)
    with pytest.raises(ValueError, match=r'differ in size'):
        confusion_matrix(pred[:1], label, 6, 255)
    with pytest.raises(ValueError, match=r'outside \[0, 6\)'):
        confusion_matrix(pred, torch.tensor([[0, 7, 1], [1, 1, 1]]), 6, 255)


def test_table_labels_both_conventions_and_the_label_set():
    metric = METRICS.build(dict(type='ISPRSMetric'))
    table = metric.format_table(
        isprs_scores(CONFUSION, CLASSES), CLASSES, 48, ['ann_eroded_dir'])
    assert 'labels from ann_eroded_dir' in table
    rows = {}
    for line in table.splitlines():
        if line.startswith('|'):
            cells = [cell.strip() for cell in line.strip('|').split('|')]
            rows[cells[0]] = cells[1:]
    assert rows['mIoU_with_clutter'] == [
        '58.42', 'MMSeg convention: mean of all 6 classes']
    assert rows['mF1'] == [
        '76.12', 'ISPRS, LANet paper: mean of 5 classes (clutter out)']
    assert rows['mIoU'] == ['62.10', 'ISPRS: mean of 5 classes (clutter out)']
    assert rows['OA'] == ['75.00', 'ISPRS: all classes']
    assert rows['clutter'] == ['57.14', '40.00', '66.67', '50.00', 'no']
    assert rows['car'] == ['75.00', '60.00', '75.00', '75.00', 'yes']


def _sample(pred, label, name):
    return dict(
        img_path=f'/data/img_dir/val/{name}.tif',
        seg_map_path=f'/data/ann_eroded_dir/val/{name}.png',
        pred_sem_seg=dict(data=torch.as_tensor(pred)[None]),
        gt_sem_seg=dict(data=torch.as_tensor(label)[None]))


def test_output_dir_writes_index_and_colour_predictions(tmp_path):
    import cv2
    from mmseg_lanet.datasets.isprs_classes import ISPRS_PALETTE
    pred = np.array([[0, 1, 2], [3, 4, 5]], np.int64)
    label = np.array([[0, 1, 2], [3, 4, 255]], np.int64)
    metric = METRICS.build(dict(type='ISPRSMetric', output_dir=str(tmp_path),
                                keep_results=True))
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [_sample(pred, label, '2_13')])
    index = cv2.imread(str(tmp_path / '2_13.png'), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(index, pred)
    colour = cv2.imread(str(tmp_path / '2_13_colour.png'))[..., ::-1]
    np.testing.assert_array_equal(colour, np.array(ISPRS_PALETTE)[pred])
    metrics = metric.compute_metrics(metric.results)
    assert metrics['OA'] == 100.0  # the ignored pixel is not counted


def test_format_only_writes_without_reference(tmp_path):
    with pytest.raises(ValueError, match='format_only=True needs output_dir'):
        METRICS.build(dict(type='ISPRSMetric', format_only=True))
    metric = METRICS.build(dict(type='ISPRSMetric', output_dir=str(tmp_path),
                                format_only=True))
    metric.dataset_meta = dict(classes=CLASSES)
    sample = _sample(np.zeros((2, 2), np.int64), np.zeros((2, 2)), 'area2')
    del sample['gt_sem_seg']
    metric.process({}, [sample])
    assert metric.results == []
    assert metric.compute_metrics(metric.results) == {}
    assert (tmp_path / 'area2.png').is_file()


def test_confusion_matrix_png(tmp_path):
    import cv2
    path = tmp_path / 'figures' / 'confusion.png'
    result = evaluate(CONFUSION, confusion_matrix_path=str(path))
    assert result['OA'] == round(OA * 100, 2)
    picture = cv2.imread(str(path))
    assert picture is not None and picture.ndim == 3
    assert min(picture.shape[:2]) > 300
