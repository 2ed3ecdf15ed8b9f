"""The engine on numpy arrays (onnxruntime's path, no torch) gives what it
gives on torch tensors; the band's float16 rounding stays within its bound,
and float32 is taken where that bound would pass 1/255."""
import numpy as np
import pytest

from mmseg_lanet.inference import (argmax_labels, band_dtype_for,
                                   blended_inference, float16_error_bound,
                                   max_overlap, window_starts)

from _without_torch import run_without_torch


def _softmax(values, axis):
    values = np.exp(values - values.max(axis, keepdims=True))
    return values / values.sum(axis, keepdims=True)


def _context_predict(windows):
    """Probabilities depending on each pixel and on the window's mean (so
    on the window's position), for numpy arrays or torch tensors."""
    context = windows.mean((1, 2, 3), keepdims=True) if isinstance(
        windows, np.ndarray) else windows.mean((1, 2, 3), keepdim=True)
    value = windows[:, :1] + context
    if isinstance(windows, np.ndarray):
        return _softmax(np.concatenate(
            [np.sin(value), np.cos(value), 0 * value], 1), 1)
    import torch
    return torch.cat([value.sin(), value.cos(), 0 * value], 1).softmax(1)


def _blend(image, valid, predict, window, stride, batch=3, **kwargs):
    height, width = image.shape[1:]
    out = np.full((3, height, width), -1., np.float32)
    out_valid = np.zeros((height, width), bool)
    kinds = set()

    def read(win):
        r, c, h, w = win
        return (image[:, r:r + h, c:c + w],
                None if valid is None else valid[r:r + h, c:c + w])

    def write(first, probs, ok):
        kinds.add((type(probs).__module__.split('.')[0], str(probs.dtype)))
        rows = probs.shape[1]
        out[:, first:first + rows] = np.asarray(probs)
        out_valid[first:first + rows] = np.asarray(ok)

    counts = blended_inference(read, predict, write, (height, width), 3,
                               window, stride, batch, **kwargs)
    return out, out_valid, counts, kinds


def test_numpy_and_torch_engines_blend_alike():
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(5)
    image = rng.standard_normal((1, 37, 45)).astype(np.float32)
    valid = rng.random((37, 45)) > 0.1
    valid[:, :16] = False  # the windows at column 0 are skipped
    ref, ref_valid, ref_counts, kinds = _blend(
        torch.from_numpy(image), torch.from_numpy(valid), _context_predict,
        (16, 16), (9, 11), band_dtype=torch.float32)
    assert kinds == {('torch', 'torch.float32')}
    for batch, prefetch in [(1, 0), (4, 2)]:
        out, out_valid, counts, kinds = _blend(
            image, valid, _context_predict, (16, 16), (9, 11), batch,
            band_dtype='float32', prefetch=prefetch)
        assert kinds == {('numpy', 'float32')}
        assert counts == ref_counts
        np.testing.assert_array_equal(out_valid, ref_valid)
        np.testing.assert_allclose(out[:, valid], ref[:, valid], atol=1e-6)
    assert ref_counts['skipped'] > 0 and not out_valid[:, :16].any()
    np.testing.assert_allclose(out[:, valid].sum(0), 1, atol=1e-6)


def test_numpy_argmax_labels_ties_to_lower_class():
    rng = np.random.default_rng(0)
    probs = rng.integers(0, 3, (6, 5, 70)).astype(np.float32)
    valid = rng.random((5, 70)) > 0.2
    labels = argmax_labels(probs, valid, 255)
    expected = probs.argmax(0).astype(np.uint8)
    expected[~valid] = 255
    assert labels.dtype == np.uint8
    np.testing.assert_array_equal(labels, expected)


def test_max_overlap_counts_the_flush_last_window():
    # 512 every 341 over 1000 rows: windows at 0, 341, 488; rows 488-511
    # are under all three.
    assert window_starts(1000, 512, 341) == [0, 341, 488]
    assert max_overlap([0, 341, 488], 512) == 3
    assert max_overlap(window_starts(1024, 512, 512), 512) == 1
    assert max_overlap(window_starts(600, 16, 1), 16) == 16


def test_band_dtype_follows_the_float16_bound():
    # 1/255 allows 16 windows over a pixel (bound 16 * 2^-11 / 2).
    assert float16_error_bound(16) == pytest.approx(1 / 256)
    assert [band_dtype_for(n) for n in (1, 4, 16, 17, 256)] == [
        'float16', 'float16', 'float16', 'float32', 'float32']


@pytest.mark.parametrize('stride', [10, 4, 1])
def test_float16_rounding_within_bound_and_float32_beyond(stride):
    """Identical window predictions (a pointwise model): the blend equals
    them up to the band's rounding only."""
    rng = np.random.default_rng(stride)
    image = rng.standard_normal((1, 48, 48)).astype(np.float32)

    def pointwise(windows):
        value = 3 * windows[:, :1]
        return _softmax(np.concatenate([value, -value, 0 * value], 1), 1)

    expected = pointwise(image[None])[0]
    overlap = max_overlap(window_starts(48, 16, stride), 16)**2
    half, _, _, _ = _blend(image, None, pointwise, (16, 16),
                           (stride, stride), band_dtype='float16')
    error16 = np.abs(half - expected).max()
    assert error16 <= float16_error_bound(overlap)
    auto, _, _, _ = _blend(image, None, pointwise, (16, 16),
                           (stride, stride))
    error = np.abs(auto - expected).max()
    if overlap <= 16:  # float16 by default
        assert error == error16
    else:  # float32: the error of float16 (here above 1/255) is gone
        assert error < 1e-5 < 1e-3 < error16


def test_engine_imports_and_runs_without_torch():
    out = run_without_torch('''
import numpy as np
from mmseg_lanet.inference import blended_inference
image = np.ones((1, 20, 30), np.float32)
rows = []
blended_inference(lambda w: (image[:, w[0]:w[0] + w[2], w[1]:w[1] + w[3]],
                             None),
                  lambda x: np.concatenate([x, 0 * x], 1),
                  lambda first, p, ok: rows.append((first, p.shape)),
                  (20, 30), 2, (8, 8), (6, 6), 2)
print([first for first, _ in rows], {shape[::2] for _, shape in rows},
      sum(shape[1] for _, shape in rows), sorted(m for m in sys.modules
                   if m.split('.')[0] in BLOCKED and sys.modules[m]))
''')
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '[0, 6, 8, 12, 16] {(2, 30)} 20 []'
