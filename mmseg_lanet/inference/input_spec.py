"""What a model takes as input: its bands in order, their statistics and
its height rule, from a config (PyTorch) or an exported model's metadata
(onnxruntime)."""
from dataclasses import dataclass
from typing import List, Optional, Tuple

from ..datasets.isprs_classes import HEIGHT_BANDS


@dataclass
class InputSpec:
    """What the model expects, read from its config.

    Attributes:
        bands (tuple[str]): Model input bands, in order.
        mean, std (list[float]): ``data_preprocessor`` statistics per band.
        dsm_mode (str, optional): ``NormalizeDSM`` mode of the test
            pipeline ('per_tile' or 'global'), None without it.
        dsm_mean, dsm_std (float, optional): Its 'global' statistics.
        dsm_min_std (float): Its floor on the per-tile std.
        raw (bool): The model normalises its input itself (an exported
            ONNX graph): windows are given as stored, ``mean`` and ``std``
            are what the model applies to them (for heights normalised per
            tile: after the raster's height statistics), and nodata pixels
            hold the value it normalises to 0.
    """
    bands: Tuple[str, ...]
    mean: List[float]
    std: List[float]
    dsm_mode: Optional[str] = None
    dsm_mean: Optional[float] = None
    dsm_std: Optional[float] = None
    dsm_min_std: float = 1.0
    raw: bool = False

    @classmethod
    def from_config(cls, cfg) -> 'InputSpec':
        """Read bands from ``model.backbone.band_names`` (else the test
        data set's ``bands``), statistics from ``model.data_preprocessor``
        and ``NormalizeDSM`` from ``test_pipeline`` (else the test data
        set's pipeline).

        ``data_preprocessor.bgr_to_rgb`` (or ``rgb_to_bgr``) is honoured
        as MMSeg's ``SegDataPreProcessor`` applies it: a 3-band input
        reaches the model in reverse order (its means and stds are of that
        order already), other band counts unchanged; ``bands`` are then
        the model's order, e.g. ('B', 'G', 'R') for ('R', 'G', 'B')."""
        bands = cfg.model.backbone.get('band_names') or cfg.get(
            'test_dataloader', {}).get('dataset', {}).get('bands')
        preprocessor = cfg.model.get('data_preprocessor') or {}
        if not bands or 'mean' not in preprocessor:
            raise KeyError(
                'the config must name the input bands '
                '(model.backbone.band_names or test_dataloader.dataset.bands)'
                ' and their statistics (model.data_preprocessor.mean/std)')
        bands, mean, std = (tuple(bands), list(preprocessor['mean']),
                            list(preprocessor['std']))
        if not len(bands) == len(mean) == len(std):
            raise ValueError(f'config: {len(bands)} bands {bands} but '
                             f'{len(mean)} means and {len(std)} stds')
        if len(bands) == 3 and (preprocessor.get('bgr_to_rgb')
                                or preprocessor.get('rgb_to_bgr')):
            bands = bands[::-1]
        pipeline = cfg.get('test_pipeline') or cfg.test_dataloader.dataset.get(
            'pipeline', [])
        step = next((s for s in pipeline if s['type'] == 'NormalizeDSM'), {})
        return cls(bands, mean, std, step.get('mode', 'per_tile' if step else
                                              None), step.get('mean'),
                   step.get('std'), step.get('min_std', 1.0))

    @property
    def height_index(self) -> Optional[int]:
        found = [i for i, b in enumerate(self.bands) if b in HEIGHT_BANDS]
        return found[0] if found else None

    @property
    def optical_bands(self) -> Tuple[str, ...]:
        return tuple(b for b in self.bands if b not in HEIGHT_BANDS)

    @property
    def eight_bit(self) -> bool:
        """Statistics of 0-255 optical values (the ISPRS data)."""
        return all(m <= 255 for b, m in zip(self.bands, self.mean)
                   if b not in HEIGHT_BANDS)
