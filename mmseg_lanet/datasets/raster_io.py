"""Reading and writing rasters with every band kept.

``mmcv.imread`` decodes through OpenCV or Pillow with a colour flag, which
returns three channels (in BGR order) whatever the file holds: a 4-band
RGB-NIR TIFF loses its NIR band without a word. Here a TIFF is read with
``tifffile`` and its band axis is found from the TIFF's own axis labels, so
that an (H, W, C) array comes back with C equal to the number of bands
stored, in the stored order.
"""
import io
import os
import os.path as osp
from typing import BinaryIO, Optional, Tuple, Union

import cv2
import numpy as np
import tifffile

TIFF_SUFFIXES = ('.tif', '.tiff')
NUMPY_SUFFIXES = ('.npy', )
OPENCV_SUFFIXES = ('.png', '.jpg', '.jpeg')
RASTER_SUFFIXES = TIFF_SUFFIXES + NUMPY_SUFFIXES + OPENCV_SUFFIXES


def _tiff_band_last(array: np.ndarray, axes: str, name: str) -> np.ndarray:
    """Put the band axis of a TIFF series last.

    Args:
        array (np.ndarray): The series' data, one axis per letter of ``axes``.
        axes (str): tifffile's axis labels, e.g. ``'YXS'`` (interleaved
            bands), ``'SYX'`` (planar bands) or ``'YX'`` (one band).
        name (str): File name for error messages.

    Returns:
        np.ndarray: (H, W) for one band, else (H, W, C).
    """
    if 'Y' not in axes or 'X' not in axes:
        raise ValueError(f'{name}: TIFF axes {axes!r} have no Y and X axis')
    # Drop singleton non-spatial axes (e.g. a page axis 'Q' of length 1).
    keep = [i for i, ax in enumerate(axes)
            if ax in 'YX' or array.shape[i] > 1]
    kept_axes = ''.join(axes[i] for i in keep)
    array = array.reshape([array.shape[i] for i in keep])
    band_axes = [i for i, ax in enumerate(kept_axes) if ax not in 'YX']
    if len(band_axes) > 1:
        raise ValueError(
            f'{name}: TIFF axes {axes!r} with shape {array.shape} hold more '
            'than one non-spatial axis; expected a single band axis')
    order = [kept_axes.index('Y'), kept_axes.index('X')] + band_axes
    return np.transpose(array, order)


def read_tiff(source: Union[str, BinaryIO], name: str = None) -> np.ndarray:
    """Read the first image series of a TIFF with all its bands.

    Args:
        source (str | file-like): Path or open binary file.
        name (str, optional): Name used in error messages. Defaults to the
            path.

    Returns:
        np.ndarray: (H, W) or (H, W, C), dtype as stored.
    """
    name = name or str(source)
    try:
        with tifffile.TiffFile(source) as tif:
            series = tif.series[0]
            array = series.asarray()
            axes = series.axes
    except (tifffile.TiffFileError, ValueError, OSError) as err:
        raise ValueError(f'{name}: cannot be read as a TIFF ({err})') from err
    return _tiff_band_last(array, axes, name)


def decode_raster(data: bytes, name: str) -> np.ndarray:
    """Decode an in-memory raster file (e.g. a member of a zip archive).

    Args:
        data (bytes): The file's content.
        name (str): File name; its suffix selects the decoder.

    Returns:
        np.ndarray: (H, W) or (H, W, C); colour PNG/JPEG in RGB(A) order.
    """
    suffix = osp.splitext(name)[1].lower()
    if suffix in TIFF_SUFFIXES:
        return read_tiff(io.BytesIO(data), name)
    if suffix in NUMPY_SUFFIXES:
        return np.load(io.BytesIO(data), allow_pickle=False)
    if suffix in OPENCV_SUFFIXES:
        array = cv2.imdecode(
            np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if array is None:
            raise ValueError(f'{name}: cannot be decoded as {suffix}')
        if array.ndim == 3:
            # OpenCV stores colour as BGR(A); the ISPRS files are RGB(A).
            array = array[..., [2, 1, 0, 3][:array.shape[2]]]
        return array
    raise ValueError(f'{name}: unsupported raster suffix {suffix!r}; '
                     f'expected one of {RASTER_SUFFIXES}')


def read_raster(path: str) -> np.ndarray:
    """Read a raster file from disk with every band kept.

    Args:
        path (str): A ``.tif``/``.tiff`` (tifffile), ``.npy`` (NumPy) or
            ``.png``/``.jpg`` (OpenCV, colour returned as RGB) file.

    Returns:
        np.ndarray: (H, W) or (H, W, C).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'raster file not found: {path}')
    suffix = osp.splitext(path)[1].lower()
    if suffix in TIFF_SUFFIXES:
        return read_tiff(path)
    if suffix in NUMPY_SUFFIXES:
        return np.load(path, allow_pickle=False)
    with open(path, 'rb') as f:
        return decode_raster(f.read(), path)


def _partial_path(path: str) -> str:
    """A sibling name for writing before an atomic rename (keeps the suffix,
    which OpenCV needs to pick the encoder)."""
    folder, base = osp.split(path)
    stem, suffix = osp.splitext(base)
    return osp.join(folder, f'.{stem}.partial{suffix}')


def write_raster(path: str, array: np.ndarray) -> None:
    """Write a raster atomically: a crash never leaves a truncated file
    under the final name (the converters' resume logic relies on that).

    Args:
        path (str): ``.tif`` (uncompressed, bands interleaved, any dtype) or
            ``.png`` (uint8 single band, e.g. a label map).
        array (np.ndarray): (H, W) or (H, W, C).
    """
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    partial = _partial_path(path)
    suffix = osp.splitext(path)[1].lower()
    if suffix in TIFF_SUFFIXES:
        # 'minisblack' + contiguous planes store C bands as samples of one
        # page, which tifffile reads back with axes 'YXS'.
        tifffile.imwrite(
            partial, array, photometric='minisblack', planarconfig='contig')
    elif suffix == '.png':
        if array.ndim != 2 or array.dtype != np.uint8:
            raise ValueError(f'{path}: PNG output must be a uint8 (H, W) '
                             f'map, got {array.dtype} {array.shape}')
        if not cv2.imwrite(partial, array):
            raise OSError(f'{path}: OpenCV failed to write the PNG')
    else:
        raise ValueError(f'{path}: unsupported output suffix {suffix!r}')
    os.replace(partial, path)


# A window is (row offset, column offset, height, width) in pixels.
Window = Tuple[int, int, int, int]


def _tiff_series_layout(tif: 'tifffile.TiffFile', name: str):
    """The first series, its axes and its (H, W, C) shape, from the header
    alone."""
    series = tif.series[0]
    axes = series.axes
    if 'Y' not in axes or 'X' not in axes:
        raise ValueError(f'{name}: TIFF axes {axes!r} have no Y and X axis')
    shape = dict(zip(axes, series.shape))
    bands = int(np.prod([n for ax, n in shape.items() if ax not in 'YX']))
    return series, axes, (shape['Y'], shape['X'], bands)


def raster_shape(path: str) -> Tuple[int, int, int]:
    """Size of a raster without decoding its pixels (TIFF and ``.npy``
    read only their header; PNG/JPEG are decoded).

    Args:
        path (str): A raster file (see :func:`read_raster`).

    Returns:
        tuple[int, int, int]: (height, width, bands).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'raster file not found: {path}')
    suffix = osp.splitext(path)[1].lower()
    if suffix in TIFF_SUFFIXES:
        try:
            with tifffile.TiffFile(path) as tif:
                return _tiff_series_layout(tif, path)[2]
        except (tifffile.TiffFileError, ValueError, OSError) as err:
            raise ValueError(
                f'{path}: cannot be read as a TIFF ({err})') from err
    if suffix in NUMPY_SUFFIXES:
        array = np.load(path, mmap_mode='r', allow_pickle=False)
    else:
        array = read_raster(path)
    if array.ndim not in (2, 3):
        raise ValueError(f'{path}: expected (H, W) or (H, W, C), got shape '
                         f'{array.shape}')
    return (*array.shape[:2], 1 if array.ndim == 2 else array.shape[2])


def _check_window(path: str, window: Window, size: Tuple[int, int]) -> None:
    row, col, height, width = window
    if (min(row, col) < 0 or height <= 0 or width <= 0
            or row + height > size[0] or col + width > size[1]):
        raise ValueError(
            f'{path}: window (row {row}, col {col}, {height} x {width}) is '
            f'outside the {size[0]} x {size[1]} raster')


def _memmap_tiff(path: str) -> Optional[np.ndarray]:
    """The first series as a read-only memory map with the band axis last,
    or None when the pixels are compressed or not stored contiguously."""
    with tifffile.TiffFile(path) as tif:
        series, axes, _ = _tiff_series_layout(tif, path)
        if series.dataoffset is None:
            return None
    array = tifffile.memmap(path, mode='r')
    return _tiff_band_last(array, axes, path)


def read_window(path: str, window: Window) -> np.ndarray:
    """Read a window of a raster, decoding as little as the format allows.

    Uncompressed contiguous TIFFs and ``.npy`` files are memory-mapped, so
    only the window's rows are read from disk; other files (compressed or
    tiled TIFF, PNG, JPEG) are decoded whole and cropped.

    Args:
        path (str): A raster file (see :func:`read_raster`).
        window (tuple[int]): (row offset, column offset, height, width).

    Returns:
        np.ndarray: (height, width) or (height, width, C), a copy (never a
        view of the file).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'raster file not found: {path}')
    suffix = osp.splitext(path)[1].lower()
    array = None
    if suffix in TIFF_SUFFIXES:
        try:
            array = _memmap_tiff(path)
        except (tifffile.TiffFileError, ValueError, OSError) as err:
            raise ValueError(
                f'{path}: cannot be read as a TIFF ({err})') from err
    elif suffix in NUMPY_SUFFIXES:
        array = np.load(path, mmap_mode='r', allow_pickle=False)
    if array is None:
        array = read_raster(path)
    _check_window(path, window, array.shape[:2])
    row, col, height, width = window
    return np.array(array[row:row + height, col:col + width])
