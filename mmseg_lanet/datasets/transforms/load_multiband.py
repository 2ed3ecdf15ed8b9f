"""Loading a multi-band image and its height band, every band kept."""
from typing import List, Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS
from ..isprs_classes import HEIGHT_BANDS
from ..raster_io import read_raster


def _as_bands(array: np.ndarray) -> np.ndarray:
    """(H, W) -> (H, W, 1); (H, W, C) unchanged."""
    return array[..., None] if array.ndim == 2 else array


def _optical_bands(results: dict, optical: np.ndarray) -> np.ndarray:
    """Check the optical file's band count; keep the bands used, in order.
    """
    path = results['img_path']
    optical = _as_bands(optical)
    file_bands = results.get('file_band_names')
    if file_bands and optical.shape[2] != len(file_bands):
        raise ValueError(
            f'{path}: has {optical.shape[2]} band(s), expected '
            f'{len(file_bands)} ({", ".join(file_bands)})')
    indices = results.get('band_indices')
    if indices is None or list(indices) == list(range(optical.shape[2])):
        return optical
    return optical[..., list(indices)]


def _height_band(path: str, height: np.ndarray,
                 size: Sequence[int]) -> np.ndarray:
    """Check a height map (or window) against its image; (H, W) float32."""
    height = _as_bands(height)
    if height.shape[2] != 1:
        raise ValueError(f'{path}: a height file needs 1 band, it has '
                         f'{height.shape[2]}')
    if height.shape[:2] != tuple(size):
        raise ValueError(f'{path}: height map is {height.shape[:2]}, its '
                         f'image is {tuple(size)}')
    height = height[..., 0].astype(np.float32)
    if not np.isfinite(height).all():
        raise ValueError(f'{path}: {np.count_nonzero(~np.isfinite(height))}'
                         ' non-finite height values')
    return height


def stack_bands(results: dict,
                optical: np.ndarray,
                height: Optional[np.ndarray],
                num_bands: Optional[int] = None) -> np.ndarray:
    """Check an optical raster (or window) and its height map (or the same
    window) and stack the bands the data set asks for, in its order.

    Shared by the whole-tile and the crop-first loaders, so that both give
    the same array for the same pixels.

    Args:
        results (dict): Sample info: ``img_path``, optionally
            ``band_names``, ``file_band_names``, ``band_indices``,
            ``dsm_path``; ``band_names`` is set when missing.
        optical (np.ndarray): (H, W) or (H, W, C) optical pixels as stored.
        height (np.ndarray, optional): (H, W) heights, when the bands
            include a height band.
        num_bands (int, optional): Expected number of output bands.

    Returns:
        np.ndarray: (H, W, len(band_names)); with a height band a float32
        view of (C, H, W) band planes, else the optical bands as stored.
    """
    optical = _optical_bands(results, optical)
    band_names: List[str] = list(
        results.get('band_names') or range(optical.shape[2]))
    heights = [i for i, name in enumerate(band_names)
               if name in HEIGHT_BANDS]
    if heights:
        if height is None:
            raise ValueError(f'{results["img_path"]}: band '
                             f'{band_names[heights[0]]!r} requested but '
                             'the sample has no dsm_path')
        height = _height_band(results['dsm_path'], height, optical.shape[:2])
        # (H, W, C) view of band planes: per-band work (NormalizeDSM, the
        # photometric distortion) runs on contiguous memory, many times
        # faster than on interleaved bands, and PackSegInputs' (C, H, W)
        # tensor needs no transpose copy.
        img = np.empty((len(band_names), ) + optical.shape[:2],
                       np.float32).transpose(1, 2, 0)
        img[..., :heights[0]] = optical[..., :heights[0]]
        img[..., heights[0] + 1:] = optical[..., heights[0]:]
        img[..., heights[0]] = height
    else:
        img = optical
    if img.shape[2] != len(band_names) or (num_bands is not None
                                           and img.shape[2] != num_bands):
        expected = num_bands or len(band_names)
        raise ValueError(f'{results["img_path"]}: loaded {img.shape[2]} '
                         f'band(s), the config expects {expected}')
    results['band_names'] = tuple(band_names)
    return img


@TRANSFORMS.register_module()
class LoadMultiBandImageFromFile(BaseTransform):
    """Load an optical file with all its bands, and the height file.

    MMCV's ``LoadImageFromFile`` decodes with a colour flag: a 4-band TIFF
    comes back with 3 channels, in BGR order. This transform reads TIFF
    (tifffile) or ``.npy`` files as stored, checks them and assembles the
    bands the data set asks for, in its order.

    Required keys: ``img_path``; from :class:`ISPRSMultiBandDataset` also
    ``band_names`` (bands to output), ``file_band_names`` (bands stored in
    the optical file), ``band_indices`` (optical bands used, in output
    order) and, when a height band is requested, ``dsm_path``.

    Added keys: ``img`` ((H, W, len(band_names)); float32 when a height band
    is present, else the file's dtype), ``img_shape``, ``ori_shape``,
    ``band_names``.

    Checks, each raising ``ValueError`` that names the file: the optical
    file has ``len(file_band_names)`` bands; the height file has one band,
    the optical file's size and only finite values; the output has
    ``num_bands`` bands when given.

    Args:
        num_bands (int, optional): Expected number of output bands; for use
            without the ISPRS data sets, where the results carry no band
            names. Defaults to None (no extra check).
    """

    def __init__(self, num_bands: Optional[int] = None) -> None:
        self.num_bands = num_bands

    def transform(self, results: dict) -> dict:
        """Load, check and stack the bands.

        Args:
            results (dict): Sample info from the data set.

        Returns:
            dict: ``results`` with the image added.
        """
        optical = read_raster(results['img_path'])
        height_path = results.get('dsm_path')
        img = stack_bands(
            results, optical,
            read_raster(height_path) if height_path else None,
            self.num_bands)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_bands={self.num_bands})'
