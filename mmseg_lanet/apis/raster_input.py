"""The model's input from raster files: bands chosen by name, checked, and
normalised exactly as the config's test pipeline does, window by window."""
import os.path as osp
import re
import warnings
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..datasets.georaster import RasterReader
from ..datasets.isprs_classes import HEIGHT_BANDS
from ..inference.input_spec import InputSpec
from ..inference.window_plan import Window, plan_windows

# Rows read at a time by the streaming statistics pass.
STATS_WINDOW = (512, 4096)
# Other spellings of band names, as writers store them in band
# descriptions (QGIS, drone and satellite software: 'Red', 'near-infrared',
# 'Normalized DSM'), compared as :func:`_spelling` gives them. 'IR' is not
# among them: it may name a thermal or short-wave infrared band.
BAND_SPELLINGS = {
    'R': ('red', ),
    'G': ('green', ),
    'B': ('blue', ),
    'NIR': ('nearinfrared', 'nearir'),
    'nDSM': ('normaliseddsm', 'normalizeddsm', 'heightaboveground'),
    'DSM': ('digitalsurfacemodel', ),
}
# A height raster is on its image's grid when its transform places every
# pixel within this many pixels of the image's (rounding, not a shift).
GRID_TOLERANCE = 0.01
# Values sampled to check a raster against the model (its heights' level,
# its colours' range): a grid of GRID x GRID windows of SIDE pixels (reads
# a few blocks of a large file).
SAMPLE_GRID, SAMPLE_SIDE = 5, 64


def _spelling(name: str) -> str:
    """A band name without case, spaces, '-' or '_'."""
    return re.sub(r'[\s_-]+', '', name).lower()


def band_name(name: str, model_bands: Sequence[str]) -> Optional[str]:
    """The band that ``name`` spells: one of ``model_bands``, a height band
    ('DSM', 'nDSM') or 'alpha', in any case or spelling of
    :data:`BAND_SPELLINGS` ('red' and 'Red' spell 'R', 'near-infrared'
    spells 'NIR'); None when it spells none of them.

    Args:
        name (str): A band name, e.g. a band description or a ``--bands``
            entry.
        model_bands (Sequence[str]): The model's band names.

    Returns:
        str, optional: The band as the model (or ``HEIGHT_BANDS``) spells
        it.
    """
    key = _spelling(name)
    for band in (*model_bands, *HEIGHT_BANDS, 'alpha'):
        if key == _spelling(band) or key in BAND_SPELLINGS.get(band, ()):
            return band
    return None


def same_grid(transform, other, shape: Tuple[int, int],
              tolerance: float = GRID_TOLERANCE) -> bool:
    """Whether two affine transforms (rasterio's, or None without
    georeference) place every pixel of a raster of ``shape`` within
    ``tolerance`` pixels of each other.

    Writers round a transform differently (a pixel size of 0.05 stored as
    0.05000000000001): an exact comparison refuses heights that lie on
    their image's grid. Affine maps being linear, the largest offset is at
    a corner of the raster.

    Args:
        transform, other (Affine, optional): The two transforms.
        shape (tuple[int, int]): (height, width) of the raster.
        tolerance (float): Largest offset, in pixels of ``transform``.

    Returns:
        bool: True when they agree (or both are None).
    """
    if transform is None or other is None:
        return transform is other
    height, width = shape
    # Pixel offsets of ``other``'s corners in ``transform``'s pixels, as
    # coefficients (affine 3 deprecates ``*`` for points, older lacks @).
    to_pixels = ~transform
    for col, row in ((0, 0), (width, 0), (0, height), (width, height)):
        x = other.a * col + other.b * row + other.c
        y = other.d * col + other.e * row + other.f
        moved = (to_pixels.a * x + to_pixels.b * y + to_pixels.c - col,
                 to_pixels.d * x + to_pixels.e * y + to_pixels.f - row)
        if max(map(abs, moved)) > tolerance:
            return False
    return True


def _one_line(value) -> str:
    # A CRS as its authority code (EPSG:32633) where it has one, not a
    # screen of WKT.
    if hasattr(value, 'to_string'):
        value = value.to_string()
    return ' '.join(repr(value).split())


def _resample_hint(path: str, dsm_path: str, image: RasterReader,
                   dsm: RasterReader) -> str:
    """How to put georeferenced heights onto their image's grid (a DSM is
    often coarser than its orthophoto); '' without georeference."""
    if image.crs is None or dsm.crs is None:
        return ''
    out = (osp.splitext(dsm_path)[0] + '_on_' +
           osp.splitext(osp.basename(path))[0] + '.tif')
    return ("; resample it onto the image's grid (rasterio's command): rio "
            f'warp {dsm_path} {out} --like {path} --resampling bilinear')


class RasterInput:
    """An image raster (and its height raster) as model input windows.

    Args:
        spec (InputSpec): What the model takes.
        image (str): Image raster.
        file_bands (Sequence[str], optional): Names of the image's bands,
            in file order (any order, extra bands allowed). Defaults to the
            file's band descriptions where each names a band of the model
            (any case), else the model's optical bands; names that
            contradict such descriptions are an error. A band named
            'alpha', or one the file tags as alpha beyond the named bands,
            is transparency: its 0s are nodata.
        dsm (str, optional): Height raster, when the model takes a height
            band that the image does not hold.
        nodata (float, optional): Pixels whose optical bands all equal it
            are nodata (0: all-zero pixels), and so are those whose height
            band in the image equals it (not for an nDSM's 0, its ground:
            see :meth:`_image_height_nodata`). Defaults to the image's
            nodata.

    Raises:
        ValueError: Naming the file, when the band count, band names, pixel
            type, or the height raster's size, CRS or transform do not fit
            (a transform within ``GRID_TOLERANCE`` pixels fits).
    """

    def __init__(self,
                 spec: InputSpec,
                 image: str,
                 file_bands: Optional[Sequence[str]] = None,
                 dsm: Optional[str] = None,
                 nodata: Optional[float] = None) -> None:
        self.spec = spec
        self.image = RasterReader(image)
        self.dsm = None
        try:
            self._select_bands(image, file_bands, dsm)
            self.nodata = self.image.nodata if nodata is None else nodata
            self.dsm_nodata = (self.dsm.nodata if self.dsm else
                               self._image_height_nodata())
            if spec.eight_bit and self.image.dtype.kind == 'f':
                self._check_eight_bit_colours(image)
            self.dsm_stats = self._dsm_stats()
            self.nodata_fill = self._nodata_fill()
            self._check_height_level(dsm or image)
        except BaseException:
            self.close()
            raise

    def _select_bands(self, path: str, file_bands, dsm: Optional[str]):
        spec, image = self.spec, self.image
        described = self._described_bands(path)
        if file_bands:
            # Named in any case or spelling, as descriptions are.
            file_bands = tuple(band_name(b, spec.bands) or b
                               for b in file_bands)
        if file_bands and described and file_bands != described:
            raise ValueError(
                f'{path}: --bands {" ".join(file_bands)} contradicts the '
                f'band descriptions in the file: {" ".join(described)}')
        guessed = not file_bands and not described
        file_bands = tuple(file_bands or described or spec.optical_bands)
        # File indices of the bands ``file_bands`` name. A band tagged as
        # alpha beyond them is transparency (0: nodata); one they name is
        # read as named (GDAL tags any 4-band 8-bit file's fourth band so).
        self.data_bands = list(range(image.count))
        self.alpha = None
        lowered = [b.lower() for b in file_bands]
        if 'alpha' in lowered and image.count == len(file_bands):
            # Named so (--bands ... alpha), whatever the file's tags.
            self.alpha = self.data_bands.pop(lowered.index('alpha'))
            file_bands = tuple(b for b in file_bands if b.lower() != 'alpha')
        elif image.alpha is not None and image.count == len(file_bands) + 1:
            self.alpha = self.data_bands.pop(image.alpha)
        if guessed and len(self.data_bands) > 1:
            # A wrong guess gives a map of nonsense, not an error: say it.
            alpha = ''
            if self.alpha is not None:
                alpha = f', band {self.alpha + 1} as transparency (alpha)'
            elif image.alpha is not None:
                alpha = (f' (its band {image.alpha + 1}, tagged as alpha, '
                         f'as {file_bands[image.alpha]})')
            warnings.warn(
                f'{path}: no band names in the file (band descriptions); '
                f'reading its bands as {" ".join(spec.optical_bands)}, the '
                f"model's order{alpha}; name them with --bands if they "
                'differ')
        if len(self.data_bands) != len(file_bands):
            raise ValueError(
                f'{path}: has {image.count} band(s), expected '
                f'{len(file_bands)} ({", ".join(file_bands)}); name the '
                "file's bands in order with --bands")
        if image.dtype.kind not in 'uif':
            raise ValueError(f'{path}: pixel type {image.dtype} is not a '
                             'number the model can take')
        height = spec.height_index
        heights_in_file = height is not None and spec.bands[height] in \
            file_bands
        other_heights = [b for b in file_bands if b in HEIGHT_BANDS]
        if height is not None and not heights_in_file and other_heights \
                and dsm is None:
            raise ValueError(
                f'{path}: its band {other_heights[0]!r} is not the model\'s '
                f'height band {spec.bands[height]!r} (DSM: heights above sea '
                'level; nDSM: heights above ground); give the model\'s heights'
                ' with --dsm')
        # A floating-point type says nothing of the values' scale (a stack
        # of colours and heights needs one): its colours are checked on a
        # sample instead (below).
        if spec.eight_bit and image.dtype != np.uint8 and \
                image.dtype.kind != 'f':
            raise ValueError(
                f'{path}: pixel type {image.dtype}, but the model was trained '
                'on 8-bit values (its band means are 0-255); rescale the '
                'image to uint8')
        missing = [b for b in spec.bands
                   if b not in file_bands and b not in HEIGHT_BANDS]
        if missing:
            raise ValueError(f'{path}: lacks band(s) {missing} of the model '
                             f'{spec.bands}; its bands are {file_bands}')
        # (model band index, file band index) read from the image.
        self.from_image = [(i, self.data_bands[file_bands.index(b)])
                           for i, b in enumerate(spec.bands)
                           if b in file_bands]
        # File bands whose all-nodata value marks a nodata pixel.
        self.optical_files = [f for m, f in self.from_image if m != height]
        self.dsm_index = None
        needs_dsm = height is not None and not heights_in_file
        if needs_dsm and dsm is None:
            raise ValueError(
                f'{path}: the model takes band {spec.bands[height]!r}; give '
                'its height raster with --dsm')
        if dsm is not None and not needs_dsm:
            raise ValueError(
                f'{dsm}: not used: the model takes no height band beyond '
                f'the bands of {path} (model bands {spec.bands}, file bands '
                f'{file_bands})')
        if needs_dsm:
            self.dsm = RasterReader(dsm)
            self._check_dsm(path, dsm)
            self.dsm_index = height

    def _described_bands(self, path: str) -> Optional[Tuple[str, ...]]:
        """The file's band order from its band descriptions, when every band
        is described by a band name (:func:`band_name`: any case, common
        spellings), else None. Descriptions read as another spelling are
        said in one warning ('red' as R...)."""
        # Height bands the model does not take are named too, so that a
        # DSM where the model takes an nDSM gets its own error.
        descriptions = list(self.image.descriptions)
        found = [band_name(d or '', self.spec.bands) for d in descriptions]
        alpha = self.image.alpha
        if alpha is not None and not found[alpha]:
            del found[alpha], descriptions[alpha]
        if not found or not all(found):
            return None
        respelled = [f'{d.strip()!r} as {b}'
                     for d, b in zip(descriptions, found) if d.strip() != b]
        if respelled:
            warnings.warn(f'{path}: reading its bands by their descriptions: '
                          f'{", ".join(respelled)}')
        return tuple(found)

    def _check_dsm(self, path: str, dsm_path: str) -> None:
        dsm, image = self.dsm, self.image
        if dsm.count != 1:
            raise ValueError(f'{dsm_path}: a height raster needs 1 band, it '
                             f'has {dsm.count}')
        if dsm.dtype.kind not in 'uif':
            raise ValueError(f'{dsm_path}: pixel type {dsm.dtype} is not a '
                             'number')
        for what, a, b in (('size', dsm.shape, image.shape),
                           ('CRS', dsm.crs, image.crs),
                           ('transform', dsm.transform, image.transform)):
            same = (same_grid(a, b, image.shape) if what == 'transform'
                    else a == b)
            if not same:
                raise ValueError(
                    f'{dsm_path}: {what} {_one_line(a)} differs from its '
                    f'image {path} ({_one_line(b)})' +
                    _resample_hint(path, dsm_path, image, dsm))

    @property
    def shape(self) -> Tuple[int, int]:
        return self.image.shape

    def read(self, window: Window) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Model input of a window, normalised (as stored for a ``raw``
        spec), and its valid mask.

        Returns:
            tuple: (C, h, w) float32 and (h, w) bool, or None when every
            pixel is valid by construction (no nodata rule).
        """
        pixels = self.image.read(window)
        _, _, height, width = window
        out = np.empty((len(self.spec.bands), height, width), np.float32)
        for model_i, file_i in self.from_image:
            out[model_i] = pixels[file_i]
        valid = self._optical_valid(pixels, window)
        if self.dsm_index is not None:
            out[self.dsm_index] = self.dsm.read(window)[0]
        height_index = self.spec.height_index
        if height_index is not None:
            ok = self._heights_valid(out[height_index])
            if not ok.all():
                valid = ok if valid is None else valid & ok
        if not self.spec.raw:
            self._normalise(out)
        # Nodata pixels hold anything (NaN, -9999, zeros). Through the
        # receptive field and the patch descriptors they would change
        # their valid neighbours' classes; as band means (0 once
        # normalised, MMSeg's padding value) they do not. Every non-finite
        # value is at a nodata pixel.
        if valid is not None and not valid.all():
            out[:, ~valid] = self.nodata_fill[:, None]
        return out, valid

    def _nodata_fill(self) -> np.ndarray:
        """Per band, the value of a nodata pixel in the model's input: the
        one the model normalises to 0 (its band mean), so 0 for normalised
        input and the raw mean for a ``raw`` spec (for heights normalised
        per tile, the mean of this raster's heights plus the spec's mean
        times their std)."""
        spec = self.spec
        if not spec.raw:
            return np.zeros(len(spec.bands), np.float32)
        fill = np.asarray(spec.mean, np.float64)
        if spec.dsm_mode == 'per_tile':
            mean, std = self.dsm_stats
            fill[spec.height_index] = mean + fill[spec.height_index] * std
        return fill.astype(np.float32)

    def _image_height_nodata(self) -> Optional[float]:
        """The void value of heights stored in the image: its nodata
        value (or ``--nodata``), like a height raster's own; but not an
        nDSM's 0, which is the ground (heights above ground: every road and
        lawn is 0, and a uint8 nDSM has no value below it), so that a uint8
        ``R G B NIR nDSM`` stack with nodata 0 keeps its ground; its pixels
        whose colours are all 0 are still nodata. (Heights void where the
        colours are not need another mark there: NaN in a float file, or a
        height raster of their own with its nodata value, ``--dsm``.)"""
        height = self.spec.height_index
        if height is None or self.dsm_index is not None or (
                self.nodata is None):
            return None
        if self.nodata == 0 and self.spec.bands[height].lower() == 'ndsm':
            return None
        return self.nodata

    def _heights_valid(self, heights: np.ndarray) -> np.ndarray:
        """Heights that are finite and not the height raster's nodata."""
        ok = np.isfinite(heights)
        if self.dsm_nodata is not None:
            ok &= heights != self.dsm_nodata
        return ok

    @property
    def _optical_rule(self) -> bool:
        """Whether the image can make a pixel nodata: a nodata value,
        floating-point values (NaN, infinite), an alpha band or an internal
        mask."""
        return (self.nodata is not None or self.image.dtype.kind == 'f'
                or self.alpha is not None or self.image.has_mask)

    def _optical_valid(self, pixels: np.ndarray,
                       window: Window) -> Optional[np.ndarray]:
        """Pixels of the image's bands ``pixels`` (file order) of
        ``window`` whose optical bands are finite and not all nodata, not
        transparent (alpha 0) and not masked by the file's internal mask;
        None when :attr:`_optical_rule` is False (every pixel valid)."""
        if not self._optical_rule:
            return None
        optical = pixels[self.optical_files]
        valid = np.ones(optical.shape[1:], bool)
        if self.nodata is not None:
            valid &= ~np.all(optical == self.nodata, axis=0)
        if optical.dtype.kind == 'f':
            valid &= np.isfinite(optical).all(axis=0)
        if self.alpha is not None:
            valid &= pixels[self.alpha] > 0
        mask = self.image.read_mask(window)
        if mask is not None:
            valid &= mask
        return valid

    def _normalise(self, out: np.ndarray) -> None:
        spec, height = self.spec, self.spec.height_index
        if height is not None and spec.dsm_mode is not None:
            mean, std = (self.dsm_stats if spec.dsm_mode == 'per_tile' else
                         (spec.dsm_mean, spec.dsm_std))
            out[height] = (out[height] - mean) / std
        out -= np.asarray(spec.mean, np.float32)[:, None, None]
        out /= np.asarray(spec.std, np.float32)[:, None, None]

    def _dsm_stats(self) -> Optional[Tuple[float, float]]:
        """Height mean and std (floored) over the whole raster's valid
        pixels, in one streaming pass, for ``NormalizeDSM('per_tile')``."""
        if self.spec.height_index is None or self.spec.dsm_mode != 'per_tile':
            return None
        total = total_sq = count = 0.
        rows = plan_windows(*self.shape, STATS_WINDOW, STATS_WINDOW)
        for window in (w for row in rows for w in row):
            values = self._valid_heights_of(window).astype(np.float64)
            total += values.sum()
            total_sq += np.square(values).sum()
            count += values.size
        if count == 0:
            return 0., 1.
        mean = total / count
        std = np.sqrt(max(total_sq / count - mean**2, 0.))
        return mean, max(std, self.spec.dsm_min_std)

    def _check_height_level(self, path: str) -> None:
        """Warn when a model of heights above ground (nDSM, fixed scale)
        is given heights whose ground is far above 0: an absolute DSM. Its
        map is nonsense, not an error (a trained LANet read a synthetic
        city's DSM at 120 m a.s.l. as 3 % OA, the same heights less 85 m as
        98.5 %); the sample may also fall on roofs only, so this warns."""
        spec = self.spec
        if (spec.height_index is None or spec.dsm_mode != 'global'
                or spec.bands[spec.height_index].lower() != 'ndsm'):
            return
        values = np.concatenate(
            [self._valid_heights_of(w) for w in self._sample_windows()])
        if values.size == 0:
            return
        ground = float(np.percentile(values, 2))
        if ground > spec.dsm_mean + spec.dsm_std:
            warnings.warn(
                f'{path}: its lowest heights (2nd percentile {ground:.1f}) '
                f'lie far above the ground level 0 of the model\'s nDSM '
                f'(heights above ground; trained at mean {spec.dsm_mean:g}, '
                f'std {spec.dsm_std:g}): an absolute DSM gives a wrong map. '
                'Give heights above ground, or use a model trained with '
                "NormalizeDSM(mode='per_tile')")

    def _sample_windows(self) -> List[Window]:
        """A grid of small windows spread over the raster: a few blocks of
        a large file, read to check its values against the model."""
        height, width = self.shape
        side = min(SAMPLE_SIDE, height, width)
        rows, cols = (np.linspace(0, n - side, SAMPLE_GRID).astype(int)
                      for n in (height, width))
        return [(int(r), int(c), side, side) for r in sorted(set(rows))
                for c in sorted(set(cols))]

    def _check_eight_bit_colours(self, path: str) -> None:
        """For a model of 8-bit colours and a floating-point image (e.g. a
        stack of colours and heights): each colour band's sampled valid
        values must lie in 0-255 and not all in 0-1 (reflectances)."""
        windows = self._sample_windows()
        samples = [self.image.read(w) for w in windows]
        valid = [self._optical_valid(pixels, w)
                 for pixels, w in zip(samples, windows)]
        for model_i, file_i in self.from_image:
            if model_i == self.spec.height_index:
                continue
            values = np.concatenate([
                pixels[file_i].ravel() if ok is None else pixels[file_i][ok]
                for pixels, ok in zip(samples, valid)
            ])
            if values.size == 0:
                continue
            low, high = float(values.min()), float(values.max())
            if low < 0 or high > 255 or high <= 1:
                raise ValueError(
                    f'{path}: band {self.spec.bands[model_i]} holds values '
                    f'{low:g} to {high:g} (sampled), but the model was '
                    'trained on 8-bit values (its band means are 0-255); '
                    'rescale the colour bands to 0-255')

    def _valid_heights_of(self, window: Window) -> np.ndarray:
        """The window's heights at valid pixels (finite, not nodata in the
        height or the optical bands), float32, flattened."""
        # The image is read once, for its height band and/or its nodata.
        pixels = None
        if self.dsm_index is None or self._optical_rule:
            pixels = self.image.read(window)
        if self.dsm_index is not None:
            heights = self.dsm.read(window)[0]
        else:
            heights = pixels[next(f for m, f in self.from_image
                                  if m == self.spec.height_index)]
        heights = heights.astype(np.float32)
        ok = self._heights_valid(heights)
        if self._optical_rule:
            ok &= self._optical_valid(pixels, window)
        return heights[ok]

    def close(self) -> None:
        self.image.close()
        if self.dsm is not None:
            self.dsm.close()
