"""Sharing rasters out among processes, and the VRT mosaic of the maps."""
import numpy as np
import pytest

from mmseg_lanet.apis.distributed_predict import shard_by_pixels

from _raster_helpers import TRANSFORM, UTM33, rasterio, write_geotiff


def test_shards_balance_pixels_deterministically():
    pixels = [100, 400, 300, 200, 100, 900, 50]
    shares = shard_by_pixels(pixels, 2)
    # Largest first to the lighter rank: 900 | 400 300 ... -> 1050 each.
    assert shares == [[0, 5, 6], [1, 2, 3, 4]]
    assert [sum(pixels[i] for i in s) for s in shares] == [1050, 1000]
    assert shard_by_pixels(pixels, 2) == shares
    # Every item once, whatever the number of ranks; ties go to rank 0.
    for world_size in (1, 3, 8):
        shares = shard_by_pixels(pixels, world_size)
        assert sorted(sum(shares, [])) == list(range(len(pixels)))
    assert shard_by_pixels([5, 5, 5], 2) == [[0, 2], [1]]
    assert shard_by_pixels([], 3) == [[], [], []]


def _map(folder, name, labels, col, row, **geo):
    from rasterio.windows import Window, transform
    geo.setdefault('transform', transform(
        Window(col, row, labels.shape[1], labels.shape[0]), TRANSFORM))
    path = write_geotiff(folder / name, labels, nodata=255, **geo)
    with rasterio.open(path, 'r+') as ds:
        ds.write_colormap(1, {0: (255, 255, 255, 255), 1: (0, 0, 255, 255)})
    return path


def test_mosaic_places_every_map_on_one_grid(tmp_path):
    from mmseg_lanet.datasets.vrt_mosaic import write_mosaic_vrt
    rng = np.random.default_rng(0)
    tiles = [(rng.integers(0, 2, (20, 30), dtype=np.uint8), col, row)
             for col, row in ((0, 0), (30, 0), (10, 10))]
    tiles[2][0][:4, :4] = 255  # nodata does not cover the map below
    paths = [_map(tmp_path, f't{i}.tif', *tile)
             for i, tile in enumerate(tiles)]
    vrt = tmp_path / 'mosaic.vrt'
    assert write_mosaic_vrt(paths, str(vrt)) is None
    with rasterio.open(vrt) as ds:
        assert (ds.width, ds.height, ds.crs) == (60, 30, UTM33)
        assert ds.transform == TRANSFORM
        assert ds.nodata == 255
        assert ds.colormap(1)[1] == (0, 0, 255, 255)
        mosaic = ds.read(1)
    expected = np.full((30, 60), 255, np.uint8)
    for labels, col, row in tiles:
        region = expected[row:row + 20, col:col + 30]
        region[labels != 255] = labels[labels != 255]
    np.testing.assert_array_equal(mosaic, expected)
    assert (mosaic[10:14, 10:14] != 255).all()  # t0 under t2's nodata
    assert (mosaic[20:, :10] == 255).all()  # no map there
    assert not list(tmp_path.glob('.*'))  # no temporary file left


def test_mosaic_refuses_maps_off_its_grid(tmp_path):
    from rasterio.crs import CRS
    from rasterio.transform import from_origin
    from mmseg_lanet.datasets.vrt_mosaic import write_mosaic_vrt
    labels = np.zeros((8, 8), np.uint8)
    first = _map(tmp_path, 'a.tif', labels, 0, 0)
    cases = {
        'utm32.tif': (dict(crs=CRS.from_epsg(32632)),
                      'is in EPSG:32632 and '),
        'coarse.tif': (dict(transform=from_origin(368000., 5808000., .1,
                                                  .1)),
                       'has pixels of 0.1 x 0.1 and '),
        'shifted.tif': (dict(transform=from_origin(368000.02, 5808000., .05,
                                                   .05)),
                        'is off the grid of '),
    }
    for name, (geo, message) in cases.items():
        other = _map(tmp_path, name, labels, 0, 0, **geo)
        vrt = tmp_path / 'mosaic.vrt'
        reason = write_mosaic_vrt([first, other], str(vrt))
        assert reason.startswith(f'{other} {message}'), reason
        assert first in reason
        assert not vrt.exists()
