"""Parameter and FLOP counts of segmentors, to compare LANet with its FCN
baseline (the paper's Table V, and its claim that PAM and AEM are light).

FLOPs are those of mmengine's :class:`~mmengine.analysis.FlopAnalyzer` (the
fvcore convention used by mmseg's ``get_flops.py``: one multiply-add counts
as one FLOP; element-wise products, sums, sigmoids and fixed-window average
pooling are not counted, and are listed as such).
"""
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from torch import nn

from mmseg.registry import MODELS


@dataclass
class Complexity:
    """What :func:`measure_complexity` found for one model.

    Attributes:
        name (str): What was measured (e.g. the config name).
        input_shape (tuple[int, int, int]): (bands, H, W).
        params (int): Number of parameters.
        backbone_params (int): Parameters of ``model.backbone`` (0 without
            one); equal counts tell models on the same backbone.
        flops (int): Multiply-adds of one forward pass at batch size 1.
        uncounted_ops (dict[str, int]): Operators the analyzer skipped, with
            how often they ran.
    """
    name: str
    input_shape: Tuple[int, int, int]
    params: int
    backbone_params: int
    flops: int
    uncounted_ops: Dict[str, int] = field(default_factory=dict)

    def overhead(self, baseline: 'Complexity') -> Tuple[float, float]:
        """Relative (params, FLOPs) increase over ``baseline``, in percent."""
        return (100. * (self.params - baseline.params) / baseline.params,
                100. * (self.flops - baseline.flops) / baseline.flops)

    def same_backbone(self, other: 'Complexity') -> bool:
        """Whether both were measured on backbones of the same size and
        input, so that their difference is the heads'."""
        return (self.backbone_params == other.backbone_params
                and self.input_shape == other.input_shape)


def build_segmentor(config: Union[str, Config],
                    cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a config's model for analysis: in eval mode, with SyncBN as BN,
    and without loading pretrained weights (``init_weights`` is not called,
    so nothing is downloaded).

    Args:
        config (str | Config): A config file or object.
        cfg_options (dict, optional): Overrides merged into the config.

    Returns:
        nn.Module: The segmentor.
    """
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.eval()
    return model


def input_bands(config: Union[str, Config]) -> int:
    """Number of input bands a config's backbone expects."""
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    backbone = cfg.model.backbone
    for key in ('band_names', 'band_filters'):
        if key in backbone:
            return len(backbone[key])
    return backbone.get('in_channels', 3)


def measure_complexity(model: nn.Module,
                       input_shape: Sequence[int],
                       name: str = '') -> Complexity:
    """Count the parameters and FLOPs of ``model`` on one input.

    Args:
        model (nn.Module): A segmentor (its ``forward`` returns logits for a
            tensor, ``mode='tensor'``) or any module taking one tensor.
        input_shape (Sequence[int]): (bands, H, W) of the input.
        name (str): Label of the result.

    Returns:
        Complexity: The counts.
    """
    input_shape = tuple(int(s) for s in input_shape)
    if len(input_shape) != 3:
        raise ValueError('input_shape must be (bands, H, W), got '
                         f'{input_shape}')
    inputs = torch.rand(1, *input_shape)
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    with torch.no_grad():
        flops = analyzer.total()
    params = parameter_count(model)
    return Complexity(
        name=name,
        input_shape=input_shape,
        params=params[''],
        backbone_params=params.get('backbone', 0),
        flops=flops,
        uncounted_ops=dict(analyzer.unsupported_ops()))
