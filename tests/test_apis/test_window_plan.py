"""Window plan and blend weights."""
import numpy as np
import pytest

from mmseg_lanet.inference.window_plan import (blend_weight, plan_windows,
                                          taper_1d, window_starts)


@pytest.mark.parametrize('size,window,stride,expected', [
    (10, 4, 3, [0, 3, 6]),
    (10, 4, 4, [0, 4, 6]),
    (4, 4, 2, [0]),
    (3, 8, 5, [0]),
    (1000, 512, 341, [0, 341, 488]),
])
def test_window_starts(size, window, stride, expected):
    starts = window_starts(size, window, stride)
    assert starts == expected
    # The last window is flush with the edge, none sticks out.
    assert starts[-1] + min(window, size) == size


@pytest.mark.parametrize('height,width', [(37, 53), (8, 8), (5, 100)])
def test_plan_covers_every_pixel_with_equal_windows(height, width):
    rows = plan_windows(height, width, (16, 12), (11, 7))
    cover = np.zeros((height, width), int)
    sizes = set()
    for row in rows:
        assert len({w[0] for w in row}) == 1  # one start row per row
        for r, c, h, w in row:
            cover[r:r + h, c:c + w] += 1
            sizes.add((h, w))
    assert cover.min() >= 1
    assert sizes == {(min(16, height), min(12, width))}
    assert [row[0][0] for row in rows] == sorted(row[0][0] for row in rows)


def test_window_starts_rejects_bad_stride():
    with pytest.raises(ValueError, match=r'stride must be in \(0, window=4\]'):
        window_starts(10, 4, 5)
    with pytest.raises(ValueError, match='stride must be'):
        window_starts(10, 4, 0)


def test_taper_values():
    inner = taper_1d(8, False, False)
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(8) + 0.5) / 8)
    np.testing.assert_allclose(inner, hann)
    np.testing.assert_allclose(inner, inner[::-1])  # symmetric
    assert inner.min() == pytest.approx(0.0380602337)  # above 0 at the ends
    # Raster edges are not tapered: flat up to the middle.
    start = taper_1d(8, True, False)
    np.testing.assert_array_equal(start[:4], 1)
    np.testing.assert_allclose(start[4:], inner[4:])
    end = taper_1d(8, False, True)
    np.testing.assert_array_equal(end[4:], 1)
    np.testing.assert_allclose(end[:4], inner[:4])
    np.testing.assert_array_equal(taper_1d(8, True, True), 1)


def test_blend_weight_edges():
    size = (100, 100)
    corner = blend_weight((0, 0, 40, 40), size, floor=0.2)
    assert corner.shape == (40, 40) and corner.dtype == np.float32
    np.testing.assert_array_equal(corner[:20, :20], 1)  # top-left: flat
    assert corner[-1, -1] == pytest.approx(0.2)  # inner corner: the floor
    assert corner[0, -1] == pytest.approx(0.2)  # top edge, inner side
    np.testing.assert_allclose(corner[0, 20:], np.maximum(
        taper_1d(40, True, False)[20:], 0.2), rtol=1e-6)
    inner = blend_weight((30, 30, 40, 40), size, floor=0.2)
    np.testing.assert_allclose(inner, inner[::-1, ::-1], rtol=1e-6)
    np.testing.assert_allclose(inner, inner.T, rtol=1e-6)
    assert inner.min() == pytest.approx(0.2)
    assert inner[19:21, 19:21].min() > 0.99
    # A window as large as the raster: weight 1 everywhere.
    np.testing.assert_array_equal(blend_weight((0, 0, 100, 100), size), 1)
    with pytest.raises(ValueError, match=r'floor must be in \(0, 1\]'):
        blend_weight((0, 0, 4, 4), size, floor=0.)
