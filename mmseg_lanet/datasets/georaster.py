"""Georeferenced rasters opened once and read or written window by window.

Beside :mod:`raster_io` (whole rasters and windows of plain TIFF/``.npy``
files), this is the other half of the one raster path: the predictor's
input and output. With rasterio installed (``pip install
mmseg-lanet[geo]``) any raster GDAL reads is opened, and its CRS, affine
transform and nodata value come along; the outputs are tiled, compressed
GeoTIFFs carrying the input's georeference. Without rasterio, the files
:mod:`raster_io` reads (TIFF, ``.npy``, PNG, JPEG) are read through it and
outputs are plain uncompressed TIFFs (no georeference).

Outputs are written under a hidden temporary name and renamed when complete,
so an interrupted run never leaves a partial file under the final name.
"""
import contextlib
import os
import os.path as osp
import warnings
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from .raster_io import (RASTER_SUFFIXES, TIFF_SUFFIXES, Window,
                        _commit_partial, _partial_path, open_raster,
                        read_rows, tifffile, window_of, window_text,
                        windowed_layout, windowed_shape)

try:
    import rasterio
    from rasterio.enums import ColorInterp, MaskFlags
    from rasterio.errors import NotGeoreferencedWarning, RasterioError
    from rasterio.windows import Window as RioWindow
except ImportError:  # the optional [geo] extra
    rasterio = None

# Tile size of written GeoTIFFs; rows are buffered to whole tile rows so a
# compressed tile is written once.
BLOCK_SIZE = 256
# GDAL's block cache while predicting, in bytes: fixed, so memory does not
# grow with the raster (GDAL's default is 5 % of the machine's RAM).
GDAL_CACHE_BYTES = 16 * 2**20


def has_rasterio() -> bool:
    """Whether the optional rasterio extra is installed."""
    return rasterio is not None


def gdal_env():
    """A rasterio environment with a bounded block cache and compressed
    blocks decoded on all cores (a no-op context without rasterio).

    Decoding the windows of a compressed GeoTIFF is the slowest step of
    prediction from files on a GPU: GDAL decodes the blocks of one read in
    parallel (6000 x 6000 DEFLATE image and DSM on 2 cores: 1.7 s instead
    of 2.2 s for the 324 windows of 512 every 341).
    """
    if rasterio is None:
        return contextlib.nullcontext()
    return rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES,
                        GDAL_NUM_THREADS='ALL_CPUS')


class RasterReader:
    """A raster opened once, read by windows: the one reader of the
    predictor (georeferenced) and of the crop-first training loader (pixels
    only).

    Where its pixels come from, the cheapest way its storage allows:

    - georeferenced, with rasterio installed: GDAL, which decodes only the
      blocks a window touches, for any raster GDAL reads;
    - else a file in the windowed layout (uncompressed contiguous TIFF,
      C-order ``.npy``): the window's rows, read without decoding
      (:func:`raster_io.read_rows`);
    - else (compressed or tiled TIFF, PNG, JPEG) the raster decoded once,
      when the reader is made, and cropped per window: its memory is the
      whole raster's, for as long as the reader lives.

    Args:
        path (str): The raster file.
        georeferenced (bool): Read the file's georeference, nodata value,
            band descriptions, alpha band and mask (through rasterio when
            installed). False reads pixels only, through ``raster_io``, as
            the training loader does for each sample. Defaults to True.

    Attributes:
        height, width, count (int): Size and number of bands.
        dtype (np.dtype): Pixel type (of the first band), in the machine's
            byte order.
        crs, transform: rasterio CRS and affine transform, None without
            rasterio or for a file without georeference.
        nodata (float, optional): The file's nodata value.
        descriptions (tuple): The bands' descriptions (GDAL band
            descriptions, e.g. 'NIR'), None for a band without one (all
            None without rasterio).
        alpha (int, optional): Index of the band the file tags as alpha
            (0 where a pixel is transparent: drone orthomosaics are often
            RGBA), None when it tags none (or ``georeferenced=False``).
            GDAL tags the fourth band of any 4-band 8-bit GeoTIFF written
            with its defaults so, a NIR band too: the tag alone does not
            make a band transparency.
        has_mask (bool): Whether GDAL gives the file an internal mask
            (:meth:`read_mask`) other than its alpha band or nodata value.
    """

    def __init__(self, path: str, georeferenced: bool = True) -> None:
        if not osp.isfile(path):
            raise FileNotFoundError(f'raster file not found: {path}')
        self.path = path
        self._dataset = self._windowed = self._array = None
        self.crs = self.transform = self.nodata = self.alpha = None
        self.has_mask = False
        if georeferenced and rasterio is not None:
            self._open_dataset(path)
            return
        if osp.splitext(path)[1].lower() not in RASTER_SUFFIXES:
            raise ValueError(
                f'{path}: not a raster file this installation reads (TIFF, '
                '.npy, PNG or JPEG without rasterio; pip install '
                'mmseg-lanet[geo])')
        self._windowed = windowed_layout(path)
        if self._windowed is None:
            self._array = open_raster(path)
            shape = self._array.shape
        else:
            shape = windowed_shape(self._windowed)
        self.height, self.width = shape[:2]
        self.count = 1 if len(shape) == 2 else shape[2]
        stored = (self._array.dtype if self._windowed is None else
                  self._windowed[0][0])
        self.dtype = stored.newbyteorder('=')
        self.descriptions = (None, ) * self.count
        if georeferenced:
            self.alpha = _tiff_alpha_band(path, self.count)

    def _open_dataset(self, path: str) -> None:
        try:
            with warnings.catch_warnings():
                # A plain TIFF: crs and transform stay None below.
                warnings.simplefilter('ignore', NotGeoreferencedWarning)
                self._dataset = rasterio.open(path)
        except RasterioError as err:
            raise ValueError(f'{path}: not a raster file ({err})') from err
        ds = self._dataset
        self.height, self.width, self.count = ds.height, ds.width, ds.count
        self.dtype = np.dtype(ds.dtypes[0])
        self.crs, self.nodata = ds.crs, ds.nodata
        # A file without georeference reports the identity transform.
        self.transform = ds.transform if ds.crs is not None else None
        self.descriptions = tuple(ds.descriptions)
        self.alpha = next((i for i, interp in enumerate(ds.colorinterp)
                           if interp == ColorInterp.alpha), None)
        flags = ds.mask_flag_enums[0]
        self.has_mask = (MaskFlags.per_dataset in flags
                         and MaskFlags.alpha not in flags)

    @property
    def windowed(self) -> bool:
        """Whether windows are read without decoding (GDAL's blocks or the
        windowed layout's rows) rather than cropped from the decoded
        raster."""
        return self._array is None

    @property
    def shape(self) -> Tuple[int, int]:
        return self.height, self.width

    def read(self, window: Window) -> np.ndarray:
        """Pixels of ``(row, col, h, w)``, as (count, h, w).

        Raises:
            ValueError: Naming the file and the window, when its blocks
                there cannot be decoded (a damaged or truncated file).
        """
        row, col, height, width = window
        if self._dataset is not None:
            with self._reading(window):
                return self._dataset.read(
                    window=RioWindow(col, row, width, height))
        if self._windowed is not None:
            array = read_rows(self.path, self._windowed, window)
        else:
            array = window_of(self._array, window, self.path)
        return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)

    def read_mask(self, window: Window) -> Optional[np.ndarray]:
        """Valid pixels of ``(row, col, h, w)`` by the file's internal
        mask, as (h, w) bool; None when it has none (:attr:`has_mask`)."""
        if not self.has_mask:
            return None
        row, col, height, width = window
        with self._reading(window):
            return self._dataset.read_masks(
                1, window=RioWindow(col, row, width, height)) > 0

    @contextlib.contextmanager
    def _reading(self, window: Window):
        """GDAL's read errors as one message naming the file and window:
        rasterio's own says "Read failed. See previous exception for
        details." and the block's offsets are in the exception before."""
        try:
            yield
        except RasterioError as err:
            cause = err.__cause__ or err.__context__
            detail = str(cause if cause is not None else err)
            # GDAL starts it with the file's base name; ours is named.
            detail = detail.split(osp.basename(self.path) + ', ', 1)[-1]
            raise ValueError(
                f'{self.path}: {window_text(window)} cannot be read '
                f'({detail}); the file may be damaged or truncated') from err

    def close(self) -> None:
        if self._dataset is not None:
            self._dataset.close()

    def __enter__(self) -> 'RasterReader':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _tiff_alpha_band(path: str, count: int) -> Optional[int]:
    """The alpha band of a TIFF by its ExtraSamples tag (1: associated, 2:
    unassociated alpha), None for other files."""
    if osp.splitext(path)[1].lower() not in TIFF_SUFFIXES:
        return None
    with tifffile.TiffFile(path) as tif:
        extras = tuple(tif.pages[0].extrasamples or ())
    first_extra = count - len(extras)
    return next((first_extra + i for i, kind in enumerate(extras)
                 if int(kind) in (1, 2)), None)


class RasterWriter:
    """A raster written by bands of rows, renamed into place on success.

    With rasterio: a GeoTIFF tiled in ``BLOCK_SIZE`` blocks, DEFLATE
    compressed, BigTIFF when needed, with the given CRS, transform, nodata
    and (band 1) colour table. Without: an uncompressed TIFF written through
    a memory map.

    Use as a context manager: on an exception the temporary file is removed
    and nothing appears under ``path``.

    Args:
        path (str): Final file name.
        height, width, count (int): Size and bands.
        dtype (str): Pixel type. Defaults to 'uint8'.
        crs, transform: Georeference (rasterio objects), or None.
        nodata (float, optional): Nodata value written in the header.
        colormap (dict, optional): Class index -> RGBA for band 1.
        descriptions (Sequence[str], optional): One description per band
            (GDAL band descriptions; with rasterio only).
        masked (bool): Write a GDAL internal mask of the valid pixels
            (:meth:`write`'s ``valid``; with rasterio only): the nodata
            mark of a raster whose every value is data, as uint8
            probabilities are. Defaults to False.
    """

    def __init__(self,
                 path: str,
                 height: int,
                 width: int,
                 count: int = 1,
                 dtype: str = 'uint8',
                 crs=None,
                 transform=None,
                 nodata: Optional[float] = None,
                 colormap: Optional[Dict[int, Sequence[int]]] = None,
                 descriptions: Optional[Sequence[str]] = None,
                 masked: bool = False) -> None:
        os.makedirs(osp.dirname(path) or '.', exist_ok=True)
        self.path, self.partial = path, _partial_path(path)
        self.height, self.width, self.count = height, width, count
        self.masked = masked and rasterio is not None
        self._pending = []
        self._next_row = 0
        self._flushed = 0
        if rasterio is not None:
            profile = dict(
                driver='GTiff', height=height, width=width, count=count,
                dtype=dtype, crs=crs, transform=transform, nodata=nodata,
                tiled=True, blockxsize=BLOCK_SIZE, blockysize=BLOCK_SIZE,
                compress='deflate', BIGTIFF='IF_SAFER',
                # Blocks compressed on all cores: the same bytes, 1.9x
                # faster on 2 cores for a 6000 x 6000 label raster.
                NUM_THREADS='ALL_CPUS')
            if count > 1:
                # GDAL's default tags 3 or 4 bytes a pixel as RGB(A): a
                # fourth band (a NIR, class probabilities) is no alpha. (One
                # band keeps the default: its colour table.)
                profile['photometric'] = 'MINISBLACK'
            if transform is None:
                profile.pop('transform')
            with warnings.catch_warnings():
                # An input without georeference gives an output without.
                warnings.simplefilter('ignore', NotGeoreferencedWarning)
                self._dataset = rasterio.open(self.partial, 'w', **profile)
            if colormap is not None:
                self._dataset.write_colormap(1, colormap)
            for band, text in enumerate(descriptions or (), start=1):
                self._dataset.set_band_description(band, text)
            self._memmap = None
        else:
            shape = (height, width) if count == 1 else (height, width, count)
            self._dataset = None
            # 'contig': C bands as samples of one page; without it tifffile
            # stores (H, W, C) as H pages of W x C.
            self._memmap = tifffile.memmap(
                self.partial, shape=shape, dtype=dtype,
                photometric='minisblack', planarconfig='contig')

    def write(self, row: int, array: np.ndarray,
              valid: Optional[np.ndarray] = None) -> None:
        """Write rows ``row ...`` from ``array`` (count, n, W) or (n, W);
        rows must come in order. ``valid`` ((n, W) bool) marks the pixels
        of a ``masked`` raster that hold data."""
        array = array[None] if array.ndim == 2 else array
        if row != self._next_row or array.shape[0] != self.count or (
                array.shape[2] != self.width):
            raise ValueError(
                f'{self.path}: expected rows from {self._next_row} of shape '
                f'({self.count}, n, {self.width}), got row {row} of shape '
                f'{array.shape}')
        if self.masked:
            # Buffered as one more band, so it is flushed with its rows.
            mask = np.full(array.shape[1:], 255, array.dtype)
            if valid is not None:
                mask[~valid] = 0
            array = np.concatenate([array, mask[None]])
        self._pending.append(array)
        self._next_row += array.shape[1]
        if self._next_row - self._flushed >= BLOCK_SIZE or (
                self._next_row == self.height):
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        rows = np.concatenate(self._pending, axis=1)
        self._pending = []
        first, count = self._flushed, rows.shape[1]
        # Whole tile rows now, the remainder with the next rows.
        if first + count < self.height:
            count -= count % BLOCK_SIZE
            if count < rows.shape[1]:
                self._pending = [rows[:, count:]]
            rows = rows[:, :count]
        if self._dataset is not None:
            window = RioWindow(0, first, self.width, count)
            self._dataset.write(rows[:self.count], window=window)
            if self.masked:
                # Inside the file: a sidecar .msk would keep the
                # temporary name.
                with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
                    self._dataset.write_mask(rows[self.count], window=window)
        elif self.count == 1:
            self._memmap[first:first + count] = rows[0]
        else:
            self._memmap[first:first + count] = rows.transpose(1, 2, 0)
        self._flushed = first + count

    def close(self) -> None:
        """Finish the file and move it to its final name."""
        if self._next_row != self.height:
            self.abort()
            raise ValueError(f'{self.path}: {self._next_row} of '
                             f'{self.height} rows written')
        self._flush()
        self._release()
        _commit_partial(self.partial, self.path)

    def abort(self) -> None:
        """Drop the temporary file."""
        self._release()
        if osp.exists(self.partial):
            os.remove(self.partial)

    def _release(self) -> None:
        if self._dataset is not None:
            self._dataset.close()
            self._dataset = None
        if self._memmap is not None:
            self._memmap.flush()
            del self._memmap
            self._memmap = None

    def __enter__(self) -> 'RasterWriter':
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_colour_png(path: str, rgb: np.ndarray) -> None:
    """Write an (H, W, 3) uint8 RGB picture as PNG, atomically (with
    OpenCV, else with rasterio's PNG driver)."""
    from .raster_io import cv2
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    partial = _partial_path(path)
    if cv2 is not None:
        if not cv2.imwrite(partial, np.ascontiguousarray(rgb[..., ::-1])):
            raise OSError(f'{path}: OpenCV failed to write the PNG')
    else:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', NotGeoreferencedWarning)
            with rasterio.open(partial, 'w', driver='PNG',
                               height=rgb.shape[0], width=rgb.shape[1],
                               count=3, dtype='uint8') as png:
                png.write(rgb.transpose(2, 0, 1))
    _commit_partial(partial, path)
