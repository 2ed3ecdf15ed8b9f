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
from typing import BinaryIO, Union

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
