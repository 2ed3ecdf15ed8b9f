"""Photometric augmentation of the optical bands only."""
from typing import List, Optional, Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from numpy import random

from mmseg.registry import TRANSFORMS
from ..isprs_classes import HEIGHT_BANDS


def _as_slice(indices: List[int]):
    """A slice for consecutive indices (a view, not a gather), else the
    list."""
    if indices and indices == list(range(indices[0], indices[-1] + 1)):
        return slice(indices[0], indices[-1] + 1)
    return indices


@TRANSFORMS.register_module()
class BandAwarePhotoMetricDistortion(BaseTransform):
    """MMSeg's ``PhotoMetricDistortion`` for multi-band images.

    MMSeg's version casts to uint8 and converts 3 channels between BGR and
    HSV, so it crashes on 4-5 bands and would wreck a float height band.
    Here, each step applied with probability 0.5, as in MMSeg:

    1. brightness: one random offset added to every optical band;
    2. contrast (before or after 3-4): one random factor for every optical
       band;
    3. saturation and 4. hue: on the R, G, B bands, only when all three are
       present (false-colour composites such as NIR-R-G have no meaningful
       hue);

    and optical values are clipped to [0, 255]. Height bands ('DSM',
    'nDSM') are never touched. The result keeps the input dtype (float32
    input keeps its fractional values; uint8 input is rounded).

    Required keys: ``img`` (H, W, C); ``band_names`` (or ``optical_bands``).

    Modified keys: ``img``.

    Args:
        brightness_delta (int): Maximum brightness offset.
        contrast_range (Sequence[float]): Range of the contrast factor.
        saturation_range (Sequence[float]): Range of the saturation factor.
        hue_delta (int): Maximum hue shift, in OpenCV's 8-bit hue units
            (0-180, i.e. 2 degrees each), as in MMSeg.
        optical_bands (Sequence[int], optional): Indices of the optical
            bands, for images without ``band_names`` (then no
            saturation/hue step). Defaults to None.
    """

    def __init__(self,
                 brightness_delta: int = 32,
                 contrast_range: Sequence[float] = (0.5, 1.5),
                 saturation_range: Sequence[float] = (0.5, 1.5),
                 hue_delta: int = 18,
                 optical_bands: Optional[Sequence[int]] = None) -> None:
        self.brightness_delta = brightness_delta
        self.contrast_lower, self.contrast_upper = contrast_range
        self.saturation_lower, self.saturation_upper = saturation_range
        self.hue_delta = hue_delta
        self.optical_bands = optical_bands

    def _bands(self, results: dict):
        """(optical band indices, [R, G, B] indices or None)."""
        names = results.get('band_names')
        if names is None:
            if self.optical_bands is None:
                raise ValueError(
                    f'{results.get("img_path")}: BandAwarePhotoMetric'
                    'Distortion needs band_names in the results or '
                    'optical_bands in its config')
            return list(self.optical_bands), None
        names = list(names)
        optical = [i for i, n in enumerate(names) if n not in HEIGHT_BANDS]
        rgb = ([names.index(c) for c in 'RGB']
               if all(c in names for c in 'RGB') else None)
        return optical, rgb

    def _contrast(self, optical: np.ndarray) -> None:
        """Random contrast of float32 ``optical``, in place."""
        if random.randint(2):
            optical *= random.uniform(self.contrast_lower,
                                      self.contrast_upper)
        np.clip(optical, 0, 255, out=optical)

    def _saturation_and_hue(self, rgb: np.ndarray) -> np.ndarray:
        """Random saturation and hue change of (H, W, 3) RGB in [0, 255]."""
        change_saturation, change_hue = random.randint(2), random.randint(2)
        if not (change_saturation or change_hue):
            return rgb
        # Float HSV: H in degrees [0, 360), S and V in [0, 1].
        scaled = np.empty(rgb.shape, np.float32)  # interleaved, for OpenCV
        np.divide(rgb, 255, out=scaled)
        # Channel planes: contiguous, unlike hsv[..., i] (10x faster).
        hue, saturation, value = cv2.split(
            cv2.cvtColor(scaled, cv2.COLOR_RGB2HSV))
        if change_saturation:
            saturation *= random.uniform(self.saturation_lower,
                                         self.saturation_upper)
            np.clip(saturation, 0, 1, out=saturation)
        if change_hue:
            # randint's upper bound is exclusive: +1 makes the shift
            # symmetric (and hue_delta=0 valid).
            hue += 2 * random.randint(-self.hue_delta, self.hue_delta + 1)
            # Wraps into [0, 360) as `% 360` would (|shift| < 360), at a
            # tenth of the cost of a float modulo.
            np.subtract(hue, 360, out=hue, where=hue >= 360)
            np.add(hue, 360, out=hue, where=hue < 0)
        rgb = cv2.cvtColor(cv2.merge([hue, saturation, value]),
                           cv2.COLOR_HSV2RGB)
        rgb *= 255
        return rgb

    def transform(self, results: dict) -> dict:
        """Distort the optical bands.

        Args:
            results (dict): Results holding the image.

        Returns:
            dict: ``results`` with the optical bands distorted.
        """
        img = results['img']
        optical_idx, rgb_idx = self._bands(results)
        bands = _as_slice(optical_idx)
        # A float32 image (the loaders' output with a height band) is
        # distorted in place, through a view of its optical bands; others
        # through a float32 copy.
        in_place = img.dtype == np.float32 and isinstance(bands, slice)
        optical = (img[..., bands] if in_place else
                   img[..., bands].astype(np.float32))
        if random.randint(2):
            optical += random.uniform(-self.brightness_delta,
                                      self.brightness_delta)
            np.clip(optical, 0, 255, out=optical)
        contrast_first = random.randint(2)
        if contrast_first:
            self._contrast(optical)
        if rgb_idx is not None:
            positions = _as_slice([optical_idx.index(i) for i in rgb_idx])
            optical[..., positions] = self._saturation_and_hue(
                optical[..., positions])
        if not contrast_first:
            self._contrast(optical)
        if in_place:
            return results
        out = img.copy()
        out[..., bands] = (
            np.clip(optical, 0, 255).round()
            if np.issubdtype(img.dtype, np.integer) else optical)
        results['img'] = out
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(brightness_delta='
                f'{self.brightness_delta}, contrast_range=('
                f'{self.contrast_lower}, {self.contrast_upper}), '
                f'saturation_range=({self.saturation_lower}, '
                f'{self.saturation_upper}), hue_delta={self.hue_delta})')
