"""raster_io: headers without pixels, windows equal to slicing the whole
array in every storage layout, and errors that name the file."""
import cv2
import numpy as np
import pytest
import tifffile

from mmseg_lanet.datasets.georaster import RasterReader
from mmseg_lanet.datasets.raster_io import (is_windowed, open_raster,
                                            raster_shape, read_raster,
                                            read_window, write_raster)

WINDOWS = [(0, 0, 5, 7), (3, 4, 10, 11), (26, 33, 4, 5), (0, 0, 30, 38)]


def multiband(dtype=np.uint8, bands=4, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((30, 38, bands)) * 250).astype(dtype)


# (file name, writer, windowed): every TIFF flavour the data may come in.
LAYOUTS = {
    'contig': (lambda p, a: tifffile.imwrite(
        p, a, photometric='minisblack', planarconfig='contig'), True),
    'planar': (lambda p, a: tifffile.imwrite(
        p, np.moveaxis(a, 2, 0), photometric='minisblack',
        planarconfig='separate'), True),
    'tiled': (lambda p, a: tifffile.imwrite(
        p, a, photometric='minisblack', planarconfig='contig',
        tile=(16, 16)), False),
    'deflate': (lambda p, a: tifffile.imwrite(
        p, a, photometric='minisblack', planarconfig='contig',
        compression='zlib'), False),
    'write_raster': (write_raster, True),
}


@pytest.mark.parametrize('layout', sorted(LAYOUTS))
@pytest.mark.parametrize('dtype', [np.uint8, np.float32])
def test_tiff_windows_equal_slicing(tmp_path, layout, dtype):
    array = multiband(dtype)
    path = str(tmp_path / f'{layout}.tif')
    writer, windowed = LAYOUTS[layout]
    writer(path, array)
    assert raster_shape(path) == (30, 38, 4)
    assert is_windowed(path) is windowed
    np.testing.assert_array_equal(read_raster(path), array)
    for row, col, height, width in WINDOWS:
        window = read_window(path, (row, col, height, width))
        assert window.dtype == array.dtype
        assert not isinstance(window, np.memmap)
        np.testing.assert_array_equal(
            window, array[row:row + height, col:col + width])
    # open_raster maps the windowed layouts instead of decoding them;
    # The training loader's RasterReader reads their rows, or decodes the
    # others once; as band planes (count, h, w).
    assert isinstance(open_raster(path), np.memmap) is windowed
    raster = RasterReader(path, georeferenced=False)
    assert raster.windowed is windowed and raster.dtype == array.dtype
    assert (raster.height, raster.width, raster.count) == (30, 38, 4)
    for row, col, height, width in WINDOWS:
        np.testing.assert_array_equal(
            raster.read((row, col, height, width)),
            array[row:row + height, col:col + width].transpose(2, 0, 1))


def test_single_band_npy_and_png_windows(tmp_path):
    labels = multiband(bands=1)[..., 0]
    paths = {}
    for suffix in ('.tif', '.npy', '.png'):
        paths[suffix] = str(tmp_path / f'labels{suffix}')
        if suffix == '.npy':
            np.save(paths[suffix], labels)
        else:
            write_raster(paths[suffix], labels)
        assert raster_shape(paths[suffix]) == (30, 38, 1)
        for row, col, height, width in WINDOWS:
            np.testing.assert_array_equal(
                read_window(paths[suffix], (row, col, height, width)),
                labels[row:row + height, col:col + width])
    assert is_windowed(paths['.tif']) and is_windowed(paths['.npy'])
    assert not is_windowed(paths['.png'])
    array = multiband(np.float32, bands=5)
    np.save(tmp_path / 'img.npy', array)
    assert raster_shape(str(tmp_path / 'img.npy')) == (30, 38, 5)
    np.testing.assert_array_equal(
        read_window(str(tmp_path / 'img.npy'), (2, 3, 4, 5)),
        array[2:6, 3:8])
    # An RGB PNG: the header gives 3 bands without decoding.
    cv2.imwrite(str(tmp_path / 'rgb.png'), multiband(bands=3))
    assert raster_shape(str(tmp_path / 'rgb.png')) == (30, 38, 3)


@pytest.mark.parametrize('window', [(-1, 0, 4, 4), (0, 35, 4, 4),
                                    (28, 0, 4, 4), (0, 0, 0, 4)])
def test_window_outside_the_raster_names_file_and_sizes(tmp_path, window):
    path = str(tmp_path / 'a.tif')
    write_raster(path, multiband())
    row, col, height, width = window
    with pytest.raises(ValueError, match=(
            rf'a.tif: window \(row {row}, col {col}, {height} x {width}\) '
            r'is outside the 30 x 38 raster')):
        read_window(path, window)


def test_truncated_and_foreign_files_are_named(tmp_path):
    path = tmp_path / 'a.tif'
    write_raster(str(path), multiband())
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    message = (r'a.tif: truncated TIFF: its pixels end at byte \d+, the '
               rf'file has {len(data) // 2} bytes')
    for read in (raster_shape, lambda p: read_window(p, (0, 0, 2, 2))):
        with pytest.raises(ValueError, match=message):
            read(str(path))
    (tmp_path / 'b.tif').write_text('not an image')
    with pytest.raises(ValueError, match='b.tif: cannot be read as a TIFF'):
        raster_shape(str(tmp_path / 'b.tif'))
    (tmp_path / 'c.png').write_bytes(b'GIF89a' + bytes(30))
    with pytest.raises(ValueError, match='c.png: not a PNG file'):
        raster_shape(str(tmp_path / 'c.png'))
    with pytest.raises(FileNotFoundError, match='raster file not found: .*'
                       'd.tif'):
        read_window(str(tmp_path / 'd.tif'), (0, 0, 1, 1))
