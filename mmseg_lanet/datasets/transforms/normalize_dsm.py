"""Standardising the height band."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS
from ..converters.report import mean_and_std
from ..isprs_classes import HEIGHT_BANDS

MODES = ('per_tile', 'global')


@TRANSFORMS.register_module()
class NormalizeDSM(BaseTransform):
    """Standardise the height band to zero mean and unit variance.

    Heights come in data-set specific units and offsets: Vaihingen's DSM is
    absolute (about 240-290 m above sea level, varying with the terrain),
    Potsdam's normalised DSM is height above ground as 8-bit levels. After
    this transform the height band is ``(h - mean) / std`` with:

    - ``mode='per_tile'`` (default): mean and std of the whole tile.
      Removes each tile's terrain offset, so it suits absolute DSMs; the
      scale is relative to the tile. The statistics come from the data set
      (``dsm_stats``: pixel count, sum and sum of squares of the tile's
      heights, recorded by the converter in ``conversion.json``; for data
      converted as crops, those of the tile the crop was cut from), so the
      transform may follow a crop (``LoadMultiBandCrop``). Without them it
      computes them from the image, which must then be the whole tile (it
      raises after a crop or resize).
    - ``mode='global'``: fixed ``mean`` and ``std`` for all tiles, e.g. the
      training-set statistics the converter prints. Keeps heights
      comparable across tiles, which suits normalised DSMs.

    Either way the band then needs no further normalisation: give it mean 0
    and std 1 in ``SegDataPreProcessor``. The optical bands are untouched.

    Required keys: ``img``, ``band_names`` (the height band is the one named
    'DSM' or 'nDSM'; without band names, e.g. for an image given as an array
    to ``mmseg.apis.inference_model``, ``band_index`` says where it is); for
    'per_tile' also ``dsm_stats`` or ``img_shape`` and ``ori_shape``
    (``dsm_stats_missing`` says why a data set has no statistics).

    Modified keys: ``img`` (float32).

    Args:
        mode (str): 'per_tile' or 'global'.
        mean (float, optional): Height mean for 'global'.
        std (float, optional): Height standard deviation for 'global'.
        min_std (float): Floor on the per-tile std, in height units, so that
            a nearly flat tile does not have its noise blown up. Defaults
            to 1.0.
        band_index (int, optional): Index of the height band for results
            without ``band_names`` (e.g. -1: last). Defaults to None.
    """

    def __init__(self,
                 mode: str = 'per_tile',
                 mean: Optional[float] = None,
                 std: Optional[float] = None,
                 min_std: float = 1.0,
                 band_index: Optional[int] = None) -> None:
        if mode not in MODES:
            raise ValueError(f'NormalizeDSM: mode must be one of {MODES}, '
                             f'got {mode!r}')
        if mode == 'global' and (mean is None or not std or std <= 0):
            raise ValueError("NormalizeDSM: mode='global' needs mean and a "
                             f'positive std, got mean={mean}, std={std}')
        if mode == 'per_tile' and (mean is not None or std is not None):
            raise ValueError("NormalizeDSM: mean/std are only used with "
                             "mode='global'")
        self.mode = mode
        self.mean = mean
        self.std = std
        self.min_std = min_std
        self.band_index = band_index

    def height_band_index(self, results: dict) -> int:
        """Index of the height band in ``results['img']``."""
        if 'band_names' not in results and self.band_index is not None:
            return self.band_index
        names = list(results.get('band_names') or ())
        found = [i for i, name in enumerate(names) if name in HEIGHT_BANDS]
        if len(found) != 1:
            raise ValueError(
                f'{results.get("img_path")}: NormalizeDSM needs exactly one '
                f'height band ({" or ".join(HEIGHT_BANDS)}) in band_names, '
                f'got {tuple(names)}')
        return found[0]

    @staticmethod
    def _check_whole_tile(results: dict) -> None:
        if tuple(results['img_shape']) == tuple(results['ori_shape']):
            return
        raise ValueError(
            f'{results.get("img_path")}: NormalizeDSM(mode=\'per_tile\') '
            f'sees a {tuple(results["img_shape"])} crop of a '
            f'{tuple(results["ori_shape"])} tile without the whole tile\'s '
            'statistics ('
            + results.get('dsm_stats_missing', 'no dsm_stats in the sample')
            + '); put it before any crop or resize in the pipeline, or '
            'give the data set the conversion.json that records the tile')

    def transform(self, results: dict) -> dict:
        """Standardise the height band in place.

        Args:
            results (dict): Results holding the loaded image.

        Returns:
            dict: ``results`` with the height band standardised.
        """
        index = self.height_band_index(results)
        img = results['img'].astype(np.float32, copy=False)
        height = img[..., index].astype(np.float64)
        if self.mode == 'global':
            mean, std = self.mean, self.std
        elif results.get('dsm_stats') is not None:
            mean, std = mean_and_std(*results['dsm_stats'])
            std = max(std, self.min_std)
        else:
            self._check_whole_tile(results)
            mean, std = height.mean(), max(height.std(), self.min_std)
        img[..., index] = (height - mean) / std
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(mode={self.mode!r}, '
                f'mean={self.mean}, std={self.std}, min_std={self.min_std}, '
                f'band_index={self.band_index})')
