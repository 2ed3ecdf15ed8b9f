"""Patch attention module (PAM) of LANet."""
from mmengine.model import BaseModule
from torch import Tensor

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
from .local_attention_gate import LocalAttentionGate
from .patch_pooling import WindowType


@MODELS.register_module()
class PatchAttention(BaseModule):
    """Patch attention module (PAM) of `LANet
    <https://ieeexplore.ieee.org/document/9102424>`_ (Sec. III-B, eq. 1-3).

    Each ``h_p x w_p`` patch of ``X`` is averaged into one descriptor, a
    1x1 reduce -> activation -> 1x1 bottleneck with a sigmoid turns every
    descriptor into a channel attention vector for its patch, and
    ``X + X * A`` keeps the input on a residual path. The window should
    grow the receptive field markedly at the level it is applied to (the
    authors use 4 at stride 16/32 and 20 at stride 4). Patches at the
    bottom/right edge may be partial, see :mod:`.patch_pooling`.

    Args:
        channels (int): Channels C of the input (and output).
        reduction (int): Bottleneck reduction ratio r. Default: 16.
        window (int | tuple[int, int]): Patch size ``(h_p, w_p)`` in pixels
            of the input map. Default: 4.
        pool_mode (str): 'patch' (paper), 'adaptive' (the authors' code:
            ``adaptive_avg_pool2d`` to ``(H // h_p, W // w_p)``) or 'sliding'.
            Default: 'patch'.
        upsample_mode (str): 'patch' (each pixel takes its patch's vector,
            paper) or 'bilinear' (authors' code). Default: 'patch'.
        norm_cfg (dict, optional): Norm between the two 1x1 convolutions:
            None in the paper, ``dict(type='BN', momentum=0.95)`` in the
            authors' code. Default: None.
        act_cfg (dict): Bottleneck activation. Default: ReLU.
        residual (bool): Return ``X + X * A`` (paper and authors) rather than
            ``X * A``. Default: True.
        align_corners (bool): For bilinear upsampling. Default: False.
        init_cfg (dict, optional): Initialization config.

    Shapes:
        - x: (N, C, H, W), any H, W >= 1
        - output: (N, C, H, W)
    """

    def __init__(self,
                 channels: int,
                 reduction: int = 16,
                 window: WindowType = 4,
                 pool_mode: str = 'patch',
                 upsample_mode: str = 'patch',
                 norm_cfg: OptConfigType = None,
                 act_cfg: ConfigType = dict(type='ReLU'),
                 residual: bool = True,
                 align_corners: bool = False,
                 init_cfg: OptConfigType = None):
        super().__init__(init_cfg)
        self.residual = residual
        self.gate = LocalAttentionGate(
            channels,
            channels,
            reduction=reduction,
            window=window,
            pool_mode=pool_mode,
            upsample_mode=upsample_mode,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            align_corners=align_corners)

    def forward(self, x: Tensor) -> Tensor:
        """Re-weight ``x`` by its patch attention."""
        weighted = x * self.gate(x, x.shape[-2:])
        return x + weighted if self.residual else weighted
