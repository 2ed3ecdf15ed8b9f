"""The engine with a stand-in model: band memory, blending, nodata."""
import numpy as np
import pytest
import torch

from mmseg_lanet.inference.blended_inference import blended_inference
from mmseg_lanet.inference.row_band import RowBandAccumulator


def _pointwise_predict(images):
    """Probabilities that depend on each pixel only: softmax over classes
    of (value, -value, 0)."""
    value = images[:, :1]
    return torch.cat([value, -value, torch.zeros_like(value)], 1).softmax(1)


def _run(image, valid=None, window=(16, 16), stride=(10, 10), batch=3,
         band_dtype=torch.float32, prefetch=0):
    channels, height, width = image.shape
    out = torch.full((3, height, width), -1.)
    out_valid = torch.zeros(height, width, dtype=torch.bool)
    rows_seen = []

    def read(win):
        r, c, h, w = win
        return (image[:, r:r + h, c:c + w],
                None if valid is None else valid[r:r + h, c:c + w])

    def write(first, probs, ok):
        rows_seen.append((first, probs.shape[1]))
        out[:, first:first + probs.shape[1]] = probs
        out_valid[first:first + probs.shape[1]] = ok

    counts = blended_inference(read, _pointwise_predict, write,
                               (height, width), 3, window, stride, batch,
                               band_dtype=band_dtype, prefetch=prefetch)
    return out, out_valid, rows_seen, counts


def test_pointwise_model_is_blended_exactly():
    torch.manual_seed(0)
    image = torch.randn(2, 45, 37)
    out, valid, rows_seen, counts = _run(image)
    # Weights sum to 1 per pixel: blending equal predictions changes nothing.
    torch.testing.assert_close(out, _pointwise_predict(image[None])[0])
    assert valid.all()
    # Rows written once each, in order.
    firsts = [f for f, _ in rows_seen]
    assert firsts == sorted(firsts) and sum(n for _, n in rows_seen) == 45
    assert counts == dict(windows=4 * 4, predicted=16, skipped=0,
                         band_shape=(3, 16, 37))


def test_float16_band_within_its_rounding():
    torch.manual_seed(0)
    image = torch.randn(2, 45, 37)
    out, _, _, counts = _run(image, band_dtype=torch.float16)
    assert counts['band_shape'] == (3, 16, 37)
    torch.testing.assert_close(out, _pointwise_predict(image[None])[0],
                               atol=1e-3, rtol=0)
    torch.testing.assert_close(out.sum(0), torch.ones(45, 37))


def test_whole_and_bounded_agree_for_pointwise_model():
    torch.manual_seed(1)
    image = torch.randn(1, 30, 50)
    whole, _, rows_seen, counts = _run(image, window=(30, 50),
                                       stride=(30, 50))
    bounded, _, _, _ = _run(image, window=(12, 12), stride=(5, 7))
    assert counts['windows'] == 1 and rows_seen == [(0, 30)]
    torch.testing.assert_close(whole, bounded)


def test_blending_weights_overlapping_predictions():
    """Two windows that disagree: the blend follows the Hann weights."""
    image = torch.zeros(1, 4, 6)

    def predict(images):
        # Window at column 0 says class 0, window at column 2 class 1.
        probs = torch.zeros(images.shape[0], 2, 4, 4)
        for i, first in enumerate(images[:, 0, 0, 0]):
            probs[i, int(first)] = 1
        return probs

    image[0, :, 2:] = 1  # the second window's first column is 1
    out = torch.zeros(2, 4, 6)

    def write(first, probs, ok):
        out[:, first:first + probs.shape[1]] = probs

    blended_inference(lambda w: (image[:, :, w[1]:w[1] + 4], None), predict,
                      write, (4, 6), 2, (4, 4), (4, 2), batch_size=2,
                      floor=0.1, band_dtype=torch.float32)
    left = np.array([1, 1, 0.85355339, 0.14644661], np.float32)
    right = left[::-1].copy()
    np.testing.assert_allclose(out[0, 0].numpy(), [
        1, 1, left[2] / (left[2] + right[0]), left[3] / (left[3] + right[1]),
        0, 0], rtol=1e-5)
    torch.testing.assert_close(out.sum(0), torch.ones(4, 6))


def test_nodata_pixels_and_windows():
    torch.manual_seed(2)
    image = torch.randn(1, 40, 40)
    valid = torch.ones(40, 40, dtype=torch.bool)
    valid[:20] = False  # top half nodata: the first rows of windows skip
    valid[30, 5] = False
    out, out_valid, _, counts = _run(image, valid, window=(16, 16),
                                     stride=(10, 10))
    torch.testing.assert_close(out_valid, valid)
    assert counts['skipped'] == 4 and counts['predicted'] == 12
    expected = _pointwise_predict(image[None])[0]
    torch.testing.assert_close(out[:, valid], expected[:, valid])


def test_row_band_does_not_grow_with_raster_height():
    shapes = []
    for height in (40, 400):
        counts = blended_inference(
            lambda w: (torch.zeros(1, w[2], w[3]), None), _pointwise_predict,
            lambda *rows: None, (height, 30), 3, (16, 16), (10, 10),
            band_dtype=torch.float32)
        shapes.append(counts['band_shape'])
    assert shapes == [(3, 16, 30), (3, 16, 30)]


def test_row_band_ring_reuses_released_rows():
    band = RowBandAccumulator(2, 8, 10, dtype=torch.float32)
    probs = torch.rand(2, 8, 4)
    probs /= probs.sum(0)
    band.add((0, 0, 8, 4), probs, torch.ones(8, 4))
    with pytest.raises(ValueError, match=r'outside the band of rows \[0, 8\)'):
        band.add((5, 0, 8, 4), probs, torch.ones(8, 4))
    released = list(band.release(5))
    assert [(f, p.shape) for f, p, _ in released] == [(0, (2, 5, 10))]
    torch.testing.assert_close(released[0][1][:, :, :4], probs[:, :5])
    assert not released[0][2][:, 4:].any() and released[0][2][:, :4].all()
    assert band.top == 5
    # Rows 5-12 now: the window wraps around the ring.
    band.add((5, 4, 8, 4), probs, 2 * torch.ones(8, 4))
    rows = torch.cat([p for _, p, _ in band.release(13)], dim=1)
    assert rows.shape == (2, 8, 10)
    torch.testing.assert_close(rows[:, :3, :4], probs[:, 5:])  # first window
    torch.testing.assert_close(rows[:, :, 4:8], probs)  # second window
    assert band.scores.sum() == 0


def test_in_background_keeps_order_and_bounds_items_ahead():
    import threading
    from mmseg_lanet.inference.blended_inference import in_background
    lock, state = threading.Lock(), dict(ahead=0, most=0, threads=set())
    consumed = []

    def items():
        for i in range(20):
            with lock:
                state['threads'].add(threading.current_thread().name)
                state['most'] = max(state['most'], i - len(consumed))
            yield i * 10

    out = []
    for value in in_background(items(), depth=3):
        out.append(value)
        consumed.append(value)
    assert out == [i * 10 for i in range(20)]
    # At most `depth` items made beyond those handed out, all in one
    # thread other than this one.
    assert 1 <= state['most'] <= 3
    assert len(state['threads']) == 1
    assert threading.current_thread().name not in state['threads']
    # depth 0: made in the calling thread.
    state['threads'].clear()
    assert list(in_background(iter(items()), 0))[:2] == [0, 10]
    assert state['threads'] == {threading.current_thread().name}


def test_in_background_errors_reach_the_caller():
    from mmseg_lanet.inference.blended_inference import in_background

    def items():
        for i in range(9):
            if i == 4:
                raise OSError('window 4: read failed')
            yield i

    seen = []
    with pytest.raises(OSError, match='window 4: read failed'):
        for value in in_background(items(), 2):
            seen.append(value)
    assert seen == [0, 1, 2, 3]


def test_partial_batch_before_a_skipped_last_window_is_predicted():
    """The last window all nodata, the batch before it not full: its
    windows are still predicted."""
    image = torch.randn(1, 40, 40)
    valid = torch.ones(40, 40, dtype=torch.bool)
    valid[30:, 30:] = False  # only the bottom-right window (24:40, 24:40)
    valid[24:30, 24:] = False  # ... is all invalid
    valid[24:, 24:30] = False
    for prefetch in (0, 1):
        out, out_valid, _, counts = _run(image, valid, window=(16, 16),
                                         stride=(12, 12), batch=3,
                                         prefetch=prefetch)
        assert counts == dict(windows=9, predicted=8, skipped=1,
                              band_shape=(3, 16, 40))
        torch.testing.assert_close(out_valid, valid)
        expected = _pointwise_predict(image[None])[0]
        torch.testing.assert_close(out[:, valid], expected[:, valid])


def test_prefetch_and_batches_give_the_same_blend():
    """Reading ahead, batch sizes and valid masks stacked per batch change
    nothing: a model whose output depends on the window's position (its
    mean) is blended the same way."""
    torch.manual_seed(5)
    image = torch.randn(1, 37, 45)
    valid = torch.rand(37, 45) > 0.1

    def predict(windows):
        context = windows.mean((1, 2, 3), keepdim=True)
        value = windows[:, :1] + context
        return torch.cat([value.sin(), value.cos(), 0 * value], 1).softmax(1)

    def run(batch, prefetch):
        out = torch.zeros(3, 37, 45)

        def write(first, probs, ok):
            out[:, first:first + probs.shape[1]] = probs * ok

        blended_inference(
            lambda w: (image[:, w[0]:w[0] + w[2], w[1]:w[1] + w[3]],
                       valid[w[0]:w[0] + w[2], w[1]:w[1] + w[3]]),
            predict, write, (37, 45), 3, (16, 16), (9, 11), batch,
            band_dtype=torch.float32, prefetch=prefetch)
        return out

    reference = run(1, 0)
    assert reference.abs().sum() > 0
    for batch, prefetch in [(4, 0), (4, 4), (7, 2)]:
        torch.testing.assert_close(run(batch, prefetch), reference)


@pytest.mark.parametrize('classes', [2, 6])
def test_argmax_labels_as_argmax_ties_to_lower_class(classes):
    from mmseg_lanet.inference.blended_inference import argmax_labels
    torch.manual_seed(classes)
    # Few distinct values: many ties between classes.
    probs = torch.randint(0, 3, (classes, 5, 70)).float()
    valid = torch.rand(5, 70) > 0.2
    labels = argmax_labels(probs, valid, 255)
    expected = probs.argmax(0).to(torch.uint8).numpy()
    expected[~valid.numpy()] = 255
    assert labels.dtype == np.uint8 and labels.shape == (5, 70)
    np.testing.assert_array_equal(labels, expected)
    tied = (probs == probs.max(0).values).sum(0) > 1
    assert tied.sum() > 50  # the case is exercised


def test_softmax_predictor_flip_averages_undone_flips():
    from mmseg_lanet.inference.torch_predict import softmax_predictor
    torch.manual_seed(4)
    conv = torch.nn.Conv2d(2, 3, (3, 5), padding=(1, 2))  # not symmetric
    images = torch.randn(2, 2, 9, 11)
    with torch.no_grad():
        plain = softmax_predictor(conv)(images)
        torch.testing.assert_close(plain, conv(images).softmax(1))
        flipped = softmax_predictor(conv, flip=True)(images)
        expected = (conv(images).softmax(1) +
                    conv(images.flip(3)).flip(3).softmax(1) +
                    conv(images.flip(2)).flip(2).softmax(1)) / 3
    torch.testing.assert_close(flipped, expected)
    torch.testing.assert_close(flipped.sum(1), torch.ones(2, 9, 11))
    # The flips change the result: the model is not flip-equivariant.
    assert (flipped - plain).abs().max() > 1e-3
