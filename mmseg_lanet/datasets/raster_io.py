"""Reading and writing rasters with every band kept.

``mmcv.imread`` decodes through OpenCV or Pillow with a colour flag, which
returns three channels (in BGR order) whatever the file holds: a 4-band
RGB-NIR TIFF loses its NIR band without a word. Here a TIFF is read with
``tifffile`` and its band axis is found from the TIFF's own axis labels, so
that an (H, W, C) array comes back with C equal to the number of bands
stored, in the stored order.
"""
import functools
import io
import os
import os.path as osp
import secrets
import struct
from typing import BinaryIO, Optional, Tuple, Union

import numpy as np

# Neither comes with the deploy extra (numpy, onnxruntime, rasterio), whose
# maps read and write through rasterio (datasets.georaster).
try:
    import cv2
except ImportError:
    cv2 = None
try:
    import tifffile
except ImportError:
    tifffile = None

TIFF_SUFFIXES = ('.tif', '.tiff')
NUMPY_SUFFIXES = ('.npy', )
OPENCV_SUFFIXES = ('.png', '.jpg', '.jpeg')
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
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
    """A hidden sibling name to write ``path`` under before its atomic
    rename, unique to this process and call (process id and a random
    token): two processes writing the same output each write their own
    file, and the last rename leaves one complete file. It keeps the
    suffix, which OpenCV needs to pick the encoder. A file of this name
    left by a killed run is never read: folders are listed without hidden
    names and outputs are looked for under their final names."""
    folder, base = osp.split(path)
    stem, suffix = osp.splitext(base)
    token = f'{os.getpid()}-{secrets.token_hex(4)}'
    return osp.join(folder, f'.{stem}.partial-{token}{suffix}')


def _commit_partial(partial: str, path: str) -> None:
    """Move a finished ``partial`` file to ``path``, durably: its data
    reach the disk before the rename (else a power cut can leave an empty
    or torn file under the final name), and the rename before we return."""
    fd = os.open(partial, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, path)
    try:
        fd = os.open(osp.dirname(path) or '.', os.O_RDONLY)
    except OSError:  # a platform without directory handles (Windows)
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    _commit_partial(partial, path)


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


def _png_shape(path: str) -> Tuple[int, int, int]:
    """(H, W, C) from a PNG's IHDR chunk (the first 26 bytes)."""
    with open(path, 'rb') as f:
        head = f.read(26)
    if (len(head) < 26 or head[:8] != PNG_SIGNATURE
            or head[12:16] != b'IHDR'):
        raise ValueError(f'{path}: not a PNG file (no PNG signature and '
                         'IHDR chunk)')
    width, height = struct.unpack('>II', head[16:24])
    bands = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(head[25])
    if bands is None:
        raise ValueError(f'{path}: unknown PNG colour type {head[25]}')
    return height, width, bands


def _check_tiff_extent(tif: 'tifffile.TiffFile', path: str) -> None:
    """A truncated TIFF has a readable header but pixels past the file's
    end: compare the last strip/tile's end with the file size."""
    page = tif.series[0].pages[0]
    ends = [offset + count for offset, count in zip(
        page.dataoffsets, page.databytecounts) if count]
    size = tif.filehandle.size
    if not ends or max(ends) > size:
        raise ValueError(
            f'{path}: truncated TIFF: its pixels end at byte '
            f'{max(ends) if ends else 0}, the file has {size} bytes')


def raster_shape(path: str) -> Tuple[int, int, int]:
    """Size of a raster without decoding its pixels (TIFF, ``.npy`` and
    PNG read only their header; JPEG is decoded).

    A TIFF whose pixels would lie past the end of the file (a truncated
    copy) is refused here, so that a data set can check its files at build
    time.

    Args:
        path (str): A raster file (see :func:`read_raster`).

    Returns:
        tuple[int, int, int]: (height, width, bands).

    Raises:
        FileNotFoundError: No such file.
        ValueError: The file is not a readable raster of its suffix, or is
            truncated; the message names it.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'raster file not found: {path}')
    suffix = osp.splitext(path)[1].lower()
    if suffix in TIFF_SUFFIXES:
        # The windowed layout's header is parsed once and cached, for the
        # data set's checks and the training reads alike.
        layout = _raw_layout(path)
        if layout is not None:
            _, _, _, axes = layout
            shape = dict(zip(axes, layout[1]))
            return (shape['Y'], shape['X'],
                    int(np.prod([n for ax, n in shape.items()
                                 if ax not in 'YX'])))
        try:
            with tifffile.TiffFile(path) as tif:
                shape = _tiff_series_layout(tif, path)[2]
                _check_tiff_extent(tif, path)
                return shape
        except (tifffile.TiffFileError, OSError, IndexError) as err:
            raise ValueError(
                f'{path}: cannot be read as a TIFF ({err})') from err
    if suffix == '.png':
        return _png_shape(path)
    if suffix in NUMPY_SUFFIXES:
        array = _memmap_npy(path)
    else:
        array = read_raster(path)
    if array.ndim not in (2, 3):
        raise ValueError(f'{path}: expected (H, W) or (H, W, C), got shape '
                         f'{array.shape}')
    return (*array.shape[:2], 1 if array.ndim == 2 else array.shape[2])


def window_text(window: Window) -> str:
    """A window as messages name it: ``window (row 0, col 256, 512 x
    512)``."""
    row, col, height, width = window
    return f'window (row {row}, col {col}, {height} x {width})'


def _check_window(path: str, window: Window, size: Tuple[int, int]) -> None:
    row, col, height, width = window
    if (min(row, col) < 0 or height <= 0 or width <= 0
            or row + height > size[0] or col + width > size[1]):
        raise ValueError(
            f'{path}: {window_text(window)} is outside the {size[0]} x '
            f'{size[1]} raster')


@functools.lru_cache(maxsize=4096)
def _cached_layout(path: str, mtime_ns: int, size: int):
    suffix = osp.splitext(path)[1].lower()
    if suffix in NUMPY_SUFFIXES:
        with open(path, 'rb') as f:
            try:
                version = np.lib.format.read_magic(f)
                shape, fortran, dtype = (
                    np.lib.format.read_array_header_1_0(f) if version ==
                    (1, 0) else np.lib.format.read_array_header_2_0(f))
            except ValueError as err:
                raise ValueError(f'{path}: cannot be read as a .npy array '
                                 f'({err})') from err
            offset = f.tell()
        if fortran or dtype.hasobject or len(shape) not in (2, 3):
            return None
        if offset + int(np.prod(shape)) * dtype.itemsize > size:
            raise ValueError(f'{path}: truncated .npy file')
        return dtype, shape, offset, 'YXS'[:len(shape)]
    if suffix not in TIFF_SUFFIXES:
        return None
    try:
        with tifffile.TiffFile(path) as tif:
            series, axes, _ = _tiff_series_layout(tif, path)
            if series.dataoffset is None:
                return None
            _check_tiff_extent(tif, path)
            return (series.dtype.newbyteorder(tif.byteorder), series.shape,
                    series.dataoffset, axes)
    except (tifffile.TiffFileError, OSError, IndexError) as err:
        raise ValueError(
            f'{path}: cannot be read as a TIFF ({err})') from err


def _raw_layout(path: str):
    """(dtype, stored shape, data offset, axes) of an uncompressed
    contiguous TIFF's first series or of a C-order ``.npy`` array, or None
    for other files (whose pixels must be decoded).

    Cached per file version (modification time and size are part of the
    key): a training worker parses each header once instead of once per
    sample, which was about a third of the time of a 512 x 512 crop.
    """
    stat = os.stat(path)
    return _cached_layout(path, stat.st_mtime_ns, stat.st_size)


def _memmap_tiff(path: str) -> Optional[np.ndarray]:
    """The first series as a read-only memory map with the band axis last,
    or None when the pixels are compressed or not stored contiguously.

    The map is made from the header (``np.memmap`` at the series' data
    offset) rather than by ``tifffile.memmap``, which parses the header
    again on every call.
    """
    layout = _raw_layout(path)
    if layout is None:
        return None
    dtype, shape, offset, axes = layout
    array = np.memmap(path, dtype=dtype, mode='r', offset=offset,
                      shape=shape)
    return _tiff_band_last(array, axes, path)


def _memmap_npy(path: str) -> np.ndarray:
    try:
        return np.load(path, mmap_mode='r', allow_pickle=False)
    except (ValueError, OSError) as err:
        raise ValueError(
            f'{path}: cannot be read as a .npy array ({err})') from err


def is_windowed(path: str) -> bool:
    """Whether :func:`read_window` reads only a window of ``path`` (an
    uncompressed contiguous TIFF or a ``.npy`` file) rather than decoding
    the whole raster.

    Args:
        path (str): A raster file.

    Returns:
        bool: True for the random-access layout.
    """
    return windowed_layout(path) is not None


def open_raster(path: str) -> np.ndarray:
    """A raster as an array to take windows from: a read-only memory map
    for uncompressed contiguous TIFFs and ``.npy`` files (nothing is read
    until sliced), the decoded raster otherwise.

    Slice it with :func:`window_of` (or :func:`read_window` for a single
    window); several windows of one file, e.g. the re-drawn crops of
    ``RandomCrop(cat_max_ratio=...)``, then decode a non-windowed file
    once.

    Args:
        path (str): A raster file (see :func:`read_raster`).

    Returns:
        np.ndarray: (H, W) or (H, W, C), possibly a ``np.memmap``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'raster file not found: {path}')
    suffix = osp.splitext(path)[1].lower()
    if suffix in TIFF_SUFFIXES:
        try:
            array = _memmap_tiff(path)
        except (tifffile.TiffFileError, OSError, IndexError) as err:
            raise ValueError(
                f'{path}: cannot be read as a TIFF ({err})') from err
        if array is not None:
            return array
    elif suffix in NUMPY_SUFFIXES:
        return _memmap_npy(path)
    return read_raster(path)


def window_of(array: np.ndarray, window: Window, path: str) -> np.ndarray:
    """Copy a window out of an array from :func:`open_raster`.

    Args:
        array (np.ndarray): (H, W) or (H, W, C).
        window (tuple[int]): (row offset, column offset, height, width).
        path (str): The array's file, for the error message.

    Returns:
        np.ndarray: (height, width) or (height, width, C), a copy.

    Raises:
        ValueError: The window is not inside the raster.
    """
    _check_window(path, window, array.shape[:2])
    row, col, height, width = window
    return _native_order(np.array(array[row:row + height, col:col + width]))


def _native_order(array: np.ndarray) -> np.ndarray:
    """``array`` in the machine's byte order, swapped in place if it was
    read as stored by a big-endian TIFF: torch (``PackSegInputs``) refuses
    other byte orders, and decoded rasters come in native order."""
    if array.dtype.isnative:
        return array
    return array.byteswap(inplace=True).view(array.dtype.newbyteorder('='))


def _interleaved_or_planar(layout) -> Optional[Tuple[str, tuple]]:
    """The stored axes without singleton non-spatial axes, if they are
    'YX', 'YXS' (bands interleaved) or '?YX' (band planes); else None."""
    dtype, shape, offset, axes = layout
    kept = [(ax, n) for ax, n in zip(axes, shape) if ax in 'YX' or n > 1]
    axes = ''.join(ax for ax, _ in kept)
    if axes in ('YX', 'YXS') or (len(axes) == 3 and axes[1:] == 'YX'):
        return axes, tuple(n for _, n in kept)
    return None


def _pread_rows(fd: int, rows: np.ndarray, start: int, stride: int,
                path: str) -> None:
    """Fill ``rows[i]`` (C-contiguous) from the file bytes at
    ``start + i * stride``."""
    # Slices of one byte view: a NumPy row view per read cost a third as
    # much as the read itself.
    data, size = memoryview(rows).cast('B'), rows[0].nbytes
    for i in range(rows.shape[0]):
        if os.preadv(fd, [data[i * size:(i + 1) * size]],
                     start + i * stride) != size:
            raise ValueError(f'{path}: truncated: a window row lies past '
                             'the end of the file')


def windowed_layout(path: str) -> Optional[tuple]:
    """How to read windows of ``path`` without decoding it: (layout, rows)
    for an uncompressed contiguous TIFF or a C-order ``.npy`` file (the
    windowed layout, header parsed once per file version), None for other
    files, whose pixels must be decoded.

    Args:
        path (str): A raster file.

    Returns:
        tuple, optional: For :func:`read_rows`.
    """
    layout = _raw_layout(path)
    if layout is None:
        return None
    rows = _interleaved_or_planar(layout)
    return None if rows is None else (layout, rows)


def windowed_shape(windowed: tuple) -> Tuple[int, ...]:
    """(H, W) or (H, W, C) of a file in the windowed layout, as
    :func:`read_raster` returns it, from :func:`windowed_layout`."""
    axes, shape = windowed[1]
    return shape if axes in ('YX', 'YXS') else shape[1:] + shape[:1]


def read_rows(path: str, windowed: tuple, window: Window) -> np.ndarray:
    """A window of a file in the windowed layout, read row by row with
    ``os.preadv`` straight into the window's array: no decoding, no memory
    map (whose page faults, one or more per row of a wide tile, cost more
    than the reads themselves, and whose pages would count in a worker's
    resident memory).

    Args:
        path (str): The file.
        windowed (tuple): Its :func:`windowed_layout`.
        window (tuple[int]): (row offset, column offset, height, width).

    Returns:
        np.ndarray: (height, width) or (height, width, C), a new array
        in the machine's byte order (band planes seen band-last for planar
        files).

    Raises:
        ValueError: The window is not inside the raster.
    """
    _check_window(path, window, windowed_shape(windowed)[:2])
    row, col, height, width = window
    (dtype, _, offset, _), (axes, shape) = windowed
    size = dtype.itemsize
    fd = os.open(path, os.O_RDONLY)
    try:
        if axes == 'YX' or axes == 'YXS':
            bands = shape[2] if axes == 'YXS' else 1
            out = np.empty((height, width, bands), dtype)
            stride = shape[1] * bands * size
            _pread_rows(fd, out, offset + row * stride + col * bands * size,
                        stride, path)
            out = _native_order(out)
            return out if axes == 'YXS' else out[..., 0]
        bands, rows, cols = shape
        out = np.empty((bands, height, width), dtype)
        for band in range(bands):
            _pread_rows(fd, out[band],
                        offset + ((band * rows + row) * cols + col) * size,
                        cols * size, path)
        return _native_order(out).transpose(1, 2, 0)
    finally:
        os.close(fd)


def read_window(path: str, window: Window) -> np.ndarray:
    """Read a window of a raster, decoding as little as the format allows.

    Uncompressed contiguous TIFFs and ``.npy`` files are read row by row
    (only the window's bytes); other files (compressed or tiled TIFF, PNG,
    JPEG) are decoded whole and cropped. See
    :class:`~mmseg_lanet.datasets.georaster.RasterReader` to read several
    windows of one file (decoding it once).

    Args:
        path (str): A raster file (see :func:`read_raster`).
        window (tuple[int]): (row offset, column offset, height, width).

    Returns:
        np.ndarray: (height, width) or (height, width, C), a new array
        (never a view of the file) in the machine's byte order.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'raster file not found: {path}')
    windowed = windowed_layout(path)
    if windowed is None:
        return window_of(open_raster(path), window, path)
    return read_rows(path, windowed, window)
