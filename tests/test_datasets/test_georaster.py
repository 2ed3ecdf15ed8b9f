"""Georeferenced rasters: windows in, tiled compressed GeoTIFF out."""
import os

import numpy as np
import pytest

rasterio = pytest.importorskip('rasterio')
from rasterio.crs import CRS  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402

from mmseg_lanet.datasets.georaster import (BLOCK_SIZE, RasterReader,  # noqa: E402
                                            RasterWriter)

UTM33 = CRS.from_epsg(32633)
TRANSFORM = from_origin(368000.0, 5808000.0, 0.05, 0.05)


def _write_geotiff(path, array, nodata=None):
    count, height, width = array.shape
    with rasterio.open(path, 'w', driver='GTiff', height=height, width=width,
                       count=count, dtype=array.dtype, crs=UTM33,
                       transform=TRANSFORM, nodata=nodata) as ds:
        ds.write(array)


def test_reader_windows_and_georeference(tmp_path):
    array = np.arange(3 * 20 * 30, dtype=np.uint16).reshape(3, 20, 30)
    path = str(tmp_path / 'ortho.tif')
    _write_geotiff(path, array, nodata=0)
    with RasterReader(path) as reader:
        assert (reader.height, reader.width, reader.count) == (20, 30, 3)
        assert reader.dtype == np.uint16
        assert reader.crs == UTM33 and reader.transform == TRANSFORM
        assert reader.nodata == 0
        np.testing.assert_array_equal(reader.read((5, 7, 4, 6)),
                                      array[:, 5:9, 7:13])


def test_windows_decoded_on_all_cores_are_the_same(tmp_path):
    """gdal_env decodes the compressed blocks of a read in parallel, in a
    bounded block cache; the pixels are those of a plain read."""
    from mmseg_lanet.datasets.georaster import GDAL_CACHE_BYTES, gdal_env
    rng = np.random.default_rng(0)
    array = rng.integers(0, 255, (4, 700, 900), dtype=np.uint8)
    path = str(tmp_path / 'tiled.tif')
    with rasterio.open(path, 'w', driver='GTiff', height=700, width=900,
                       count=4, dtype='uint8', tiled=True, blockxsize=128,
                       blockysize=128, compress='deflate') as ds:
        ds.write(array)
    windows = [(0, 0, 700, 900), (100, 250, 512, 512), (650, 880, 50, 20)]
    with RasterReader(path) as reader:
        plain = [reader.read(w) for w in windows]
    with gdal_env():
        options = rasterio.env.getenv()
        assert options['GDAL_NUM_THREADS'] == 'ALL_CPUS'
        assert options['GDAL_CACHEMAX'] == GDAL_CACHE_BYTES
        with RasterReader(path) as reader:
            for (row, col, h, w), expected in zip(windows, plain):
                got = reader.read((row, col, h, w))
                np.testing.assert_array_equal(got, expected)
                np.testing.assert_array_equal(
                    got, array[:, row:row + h, col:col + w])


def test_reader_rejects_non_raster(tmp_path):
    path = tmp_path / 'notes.tif'
    path.write_text('not a raster')
    with pytest.raises(ValueError, match=f'{path}: not a raster file'):
        RasterReader(str(path))
    with pytest.raises(FileNotFoundError, match='raster file not found: .*'
                       'missing.tif'):
        RasterReader(str(tmp_path / 'missing.tif'))


def test_writer_tiled_compressed_georeferenced(tmp_path):
    height, width = BLOCK_SIZE + 44, 70
    labels = (np.arange(height * width) % 7).astype(np.uint8).reshape(
        height, width)
    path = str(tmp_path / 'out' / 'labels.tif')
    with RasterWriter(path, height, width, crs=UTM33, transform=TRANSFORM,
                      nodata=255, colormap={1: (0, 0, 255, 255)}) as writer:
        # Bands of rows of any height, in order.
        for first in range(0, height, 37):
            writer.write(first, labels[first:first + 37])
        assert not os.path.exists(path)  # only the temporary name so far
    with rasterio.open(path) as ds:
        assert ds.crs == UTM33 and ds.transform == TRANSFORM
        assert ds.nodata == 255 and ds.dtypes == ('uint8', )
        assert ds.profile['tiled'] and ds.compression.value == 'DEFLATE'
        assert ds.block_shapes == [(BLOCK_SIZE, BLOCK_SIZE)]
        assert ds.colormap(1)[1] == (0, 0, 255, 255)
        np.testing.assert_array_equal(ds.read(1), labels)
    assert os.listdir(tmp_path / 'out') == ['labels.tif']


def test_writer_interrupted_leaves_nothing(tmp_path):
    path = str(tmp_path / 'labels.tif')
    with pytest.raises(RuntimeError, match='stop'):
        with RasterWriter(path, 30, 20, count=2) as writer:
            writer.write(0, np.zeros((2, 10, 20), np.uint8))
            raise RuntimeError('stop')
    assert os.listdir(tmp_path) == []
    with RasterWriter(path, 30, 20) as writer:
        with pytest.raises(ValueError, match=r'expected rows from 0'):
            writer.write(10, np.zeros((10, 20), np.uint8))
        writer.write(0, np.zeros((30, 20), np.uint8))
    assert os.listdir(tmp_path) == ['labels.tif']


def test_plain_tiff_without_rasterio(tmp_path, monkeypatch):
    """Without the [geo] extra: windows through raster_io, uncompressed TIFF
    output without georeference."""
    import mmseg_lanet.datasets.georaster as georaster
    from mmseg_lanet.datasets.raster_io import read_raster, write_raster
    monkeypatch.setattr(georaster, 'rasterio', None)
    array = np.arange(20 * 30 * 4, dtype=np.uint8).reshape(20, 30, 4)
    path = str(tmp_path / 'plain.tif')
    write_raster(path, array)
    with RasterReader(path) as reader:
        assert (reader.height, reader.width, reader.count) == (20, 30, 4)
        assert reader.dtype == np.uint8 and reader.crs is None
        np.testing.assert_array_equal(reader.read((2, 3, 5, 6)),
                                      array[2:7, 3:9].transpose(2, 0, 1))
    text = tmp_path / 'notes.txt'
    text.write_text('x')
    with pytest.raises(ValueError, match=f'{text}: not a raster file this '
                       'installation reads'):
        RasterReader(str(text))
    out = str(tmp_path / 'labels.tif')
    with RasterWriter(out, 20, 30) as writer:
        writer.write(0, array[:12, :, 0])
        writer.write(12, array[12:, :, 0])
    np.testing.assert_array_equal(read_raster(out), array[..., 0])
    bands = str(tmp_path / 'bands.tif')
    with RasterWriter(bands, 20, 30, count=4) as writer:
        writer.write(0, array[:12].transpose(2, 0, 1))
        writer.write(12, array[12:].transpose(2, 0, 1))
    np.testing.assert_array_equal(read_raster(bands), array)


def test_alpha_band_and_internal_mask(tmp_path, monkeypatch):
    """The band a file tags as alpha, with rasterio (its colour
    interpretation) and without (the TIFF's ExtraSamples); GDAL's internal
    mask; and 4-band outputs that GDAL would tag as RGBA tagged as none."""
    import tifffile

    import mmseg_lanet.datasets.georaster as georaster
    pixels = np.full((30, 40, 4), 90, np.uint8)
    rgba = str(tmp_path / 'rgba.tif')
    tifffile.imwrite(rgba, pixels, photometric='rgb', extrasamples=[2])
    plain = str(tmp_path / 'plain.tif')
    tifffile.imwrite(plain, pixels, photometric='rgb',
                     extrasamples=['unspecified'])
    for path, alpha in ((rgba, 3), (plain, None)):
        with RasterReader(path) as reader:
            assert (reader.alpha, reader.has_mask) == (alpha, False), path
    masked = str(tmp_path / 'masked.tif')
    mask = np.full((30, 40), 255, np.uint8)
    mask[5:9, 10:20] = 0
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(
            masked, 'w', driver='GTiff', height=30, width=40, count=1,
            dtype='uint8') as ds:
        ds.write(pixels[..., 0], 1)
        ds.write_mask(mask)
    with RasterReader(masked) as reader:
        assert (reader.alpha, reader.has_mask) == (None, True)
        np.testing.assert_array_equal(reader.read_mask((4, 8, 6, 14)),
                                      mask[4:10, 8:22] > 0)
    with RasterReader(plain) as reader:
        assert reader.read_mask((0, 0, 30, 40)) is None
    out = str(tmp_path / 'four.tif')
    with RasterWriter(out, 30, 40, count=4) as writer:
        writer.write(0, pixels.transpose(2, 0, 1))
    with RasterReader(out) as reader:
        assert reader.alpha is None and not reader.has_mask
    monkeypatch.setattr(georaster, 'rasterio', None)
    for path, alpha in ((rgba, 3), (plain, None)):
        with RasterReader(path) as reader:
            assert (reader.alpha, reader.has_mask) == (alpha, False), path


def test_partial_names_are_unique_and_made_durable(tmp_path, monkeypatch):
    """Two writers of one output (two processes mapping the same folder)
    each write their own hidden file, and the last rename leaves one
    complete map; each file reaches the disk (fsync) before its rename; a
    partial file left by a killed run is neither reused nor removed."""
    path = str(tmp_path / 'labels.tif')
    stale = {name: tmp_path / name for name in (
        '.labels.partial.tif', '.labels.partial-99999-0badc0de.tif')}
    for name, file in stale.items():
        file.write_bytes(b'killed run')
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append((os.readlink(f'/proc/self/fd/{fd}'),
                       os.path.exists(path)))
        real_fsync(fd)

    monkeypatch.setattr(os, 'fsync', fsync)
    first = RasterWriter(path, 30, 20)
    second = RasterWriter(path, 30, 20)
    assert first.partial != second.partial
    for writer in (first, second):
        assert os.path.basename(writer.partial).startswith(
            f'.labels.partial-{os.getpid()}-')
        assert writer.partial.endswith('.tif')
    first.write(0, np.full((30, 20), 1, np.uint8))
    second.write(0, np.full((30, 20), 2, np.uint8))
    first.close()
    second.close()
    with rasterio.open(path) as ds:
        np.testing.assert_array_equal(ds.read(1), np.full((30, 20), 2))
    # Each partial synced while the final name did not hold it yet, then
    # the folder (the rename).
    assert [p for p, _ in synced] == [first.partial, str(tmp_path),
                                      second.partial, str(tmp_path)]
    assert synced[0][1] is False
    assert sorted(os.listdir(tmp_path)) == sorted(['labels.tif', *stale])
    for file in stale.values():
        assert file.read_bytes() == b'killed run'


@pytest.mark.parametrize('compress', ['jpeg', 'deflate'])
def test_damaged_block_names_the_file_and_window(tmp_path, damage_tile,
                                                 compress):
    """A tile whose compressed bytes are noise: reading a window over it is
    one error naming the file and the window (rasterio's own says "Read
    failed. See previous exception for details."); other windows read."""
    array = np.random.default_rng(0).integers(0, 255, (4, 150, 130),
                                              dtype=np.uint8)
    path = str(tmp_path / f'{compress}.tif')
    with rasterio.open(path, 'w', driver='GTiff', height=150, width=130,
                       count=4, dtype='uint8', crs=UTM33, transform=TRANSFORM,
                       tiled=True, blockxsize=64, blockysize=64,
                       compress=compress, photometric='MINISBLACK') as ds:
        ds.write(array)
    damage_tile(path, 4)  # row 64, col 64
    with RasterReader(path) as reader:
        intact = reader.read((0, 0, 64, 130))
        assert intact.shape == (4, 64, 130)
        if compress == 'deflate':  # (JPEG is lossy)
            np.testing.assert_array_equal(intact, array[:, :64])
        with pytest.raises(ValueError, match=(
                rf'^{path}: window \(row 50, col 60, 20 x 10\) cannot be '
                r'read \(.+\); the file may be damaged or truncated$'
        )) as error:
            reader.read((50, 60, 20, 10))
        # GDAL's detail, not rasterio's "Read failed. See previous...".
        assert 'Read failed' not in str(error.value)


def test_compressed_tiff_decoded_once_per_reader_without_rasterio(
        tmp_path, monkeypatch, tiff_decodes):
    """Without rasterio, a tiled DEFLATE TIFF is decoded once per reader,
    not once per window (nor once more for its pixel type)."""
    import tifffile

    import mmseg_lanet.datasets.georaster as georaster
    monkeypatch.setattr(georaster, 'rasterio', None)
    array = np.random.default_rng(0).integers(0, 4000, (200, 300, 4),
                                              dtype=np.uint16)
    path = str(tmp_path / 'deflate.tif')
    tifffile.imwrite(path, array, compression='zlib', tile=(64, 64),
                     photometric='minisblack', planarconfig='contig')
    windows = [(row, col, 64, 96) for row in (0, 100) for col in
               (0, 70, 140, 204)]
    with RasterReader(path) as reader:
        assert not reader.windowed and reader.dtype == np.uint16
        assert (reader.height, reader.width, reader.count) == (200, 300, 4)
        for row, col, height, width in windows:
            np.testing.assert_array_equal(
                reader.read((row, col, height, width)),
                array[row:row + height, col:col + width].transpose(2, 0, 1))
    assert tiff_decodes == [path]
