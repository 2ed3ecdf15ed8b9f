"""Loading a multi-band image and its height band, every band kept."""
from typing import List, Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS
from ..isprs_multiband import HEIGHT_BANDS
from ..raster_io import read_raster


def _as_bands(array: np.ndarray) -> np.ndarray:
    """(H, W) -> (H, W, 1); (H, W, C) unchanged."""
    return array[..., None] if array.ndim == 2 else array


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

    def _read_optical(self, results: dict) -> np.ndarray:
        path = results['img_path']
        img = _as_bands(read_raster(path))
        file_bands = results.get('file_band_names')
        if file_bands and img.shape[2] != len(file_bands):
            raise ValueError(
                f'{path}: has {img.shape[2]} band(s), expected '
                f'{len(file_bands)} ({", ".join(file_bands)})')
        indices = results.get('band_indices')
        return img if indices is None else img[..., list(indices)]

    @staticmethod
    def _read_height(path: str, size: Sequence[int]) -> np.ndarray:
        dsm = _as_bands(read_raster(path))
        if dsm.shape[2] != 1:
            raise ValueError(f'{path}: a height file needs 1 band, it has '
                             f'{dsm.shape[2]}')
        if dsm.shape[:2] != tuple(size):
            raise ValueError(f'{path}: height map is {dsm.shape[:2]}, its '
                             f'image is {tuple(size)}')
        dsm = dsm[..., 0].astype(np.float32)
        if not np.isfinite(dsm).all():
            raise ValueError(f'{path}: {np.count_nonzero(~np.isfinite(dsm))}'
                             ' non-finite height values')
        return dsm

    def transform(self, results: dict) -> dict:
        """Load, check and stack the bands.

        Args:
            results (dict): Sample info from the data set.

        Returns:
            dict: ``results`` with the image added.
        """
        optical = self._read_optical(results)
        band_names: List[str] = list(
            results.get('band_names') or range(optical.shape[2]))
        height = [i for i, name in enumerate(band_names)
                  if name in HEIGHT_BANDS]
        if height:
            if 'dsm_path' not in results:
                raise ValueError(f'{results["img_path"]}: band '
                                 f'{band_names[height[0]]!r} requested but '
                                 'the sample has no dsm_path')
            img = np.empty(optical.shape[:2] + (len(band_names), ),
                           np.float32)
            img[..., [i for i in range(len(band_names))
                      if i != height[0]]] = optical
            img[..., height[0]] = self._read_height(results['dsm_path'],
                                                    optical.shape[:2])
        else:
            img = optical
        if img.shape[2] != len(band_names) or (
                self.num_bands is not None and img.shape[2] != self.num_bands):
            expected = self.num_bands or len(band_names)
            raise ValueError(f'{results["img_path"]}: loaded {img.shape[2]} '
                             f'band(s), the config expects {expected}')
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        results['band_names'] = tuple(band_names)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_bands={self.num_bands})'
