"""Attention embedding module (AEM) of LANet."""
from mmengine.model import BaseModule
from torch import Tensor

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
from .local_attention_gate import LocalAttentionGate
from .patch_pooling import WindowType


@MODELS.register_module()
class AttentionEmbedding(BaseModule):
    """Attention embedding module (AEM) of `LANet
    <https://ieeexplore.ieee.org/document/9102424>`_ (Sec. III-C, eq. 4-5).

    Local attention computed on the *high-level* map ``Z_h`` (patch
    descriptors, 1x1 reduce -> activation -> 1x1 to the low-level channel
    count, sigmoid) is upsampled to the low-level map ``X_l`` and embedded
    as ``X_l + X_l * A_l``: the low-level features gain the context of the
    high-level ones while their spatial detail is kept.

    Args:
        high_channels (int): Channels C_h of the high-level map.
        low_channels (int): Channels C_l of the low-level map (and output).
        reduction (int): Bottleneck reduction ratio r on C_h. Default: 16.
        window (int | tuple[int, int]): Patch size in pixels of the
            high-level map. The paper uses "the same calculation as in (1)",
            i.e. the PAM's patches; the authors' code uses a stride-1 7x7
            window (``window=7, pool_mode='sliding'``). Default: 4.
        pool_mode (str): 'patch' (paper), 'adaptive' or 'sliding'
            (authors' code). Default: 'patch'.
        upsample_mode (str): 'patch' (paper) or 'bilinear' (authors' code).
            Default: 'patch'.
        norm_cfg (dict, optional): Norm between the two 1x1 convolutions:
            None in the paper, ``dict(type='BN', momentum=0.95)`` in the
            authors' code. Default: None.
        act_cfg (dict): Bottleneck activation. Default: ReLU.
        residual (bool): Return ``X_l + X_l * A_l`` (paper, eq. 5) rather
            than ``X_l * A_l`` (authors' code). Default: True.
        align_corners (bool): For bilinear upsampling. Default: False.
        init_cfg (dict, optional): Initialization config.

    Shapes:
        - high: (N, C_h, H_h, W_h)
        - low: (N, C_l, H_l, W_l), usually a larger map than ``high``
        - output: (N, C_l, H_l, W_l)
    """

    def __init__(self,
                 high_channels: int,
                 low_channels: int,
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
            high_channels,
            low_channels,
            reduction=reduction,
            window=window,
            pool_mode=pool_mode,
            upsample_mode=upsample_mode,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            align_corners=align_corners)

    def forward(self, high: Tensor, low: Tensor) -> Tensor:
        """Embed the attention of ``high`` into ``low``."""
        if high.shape[0] != low.shape[0]:
            raise ValueError('high and low must have the same batch size, '
                             f'got {high.shape[0]} and {low.shape[0]}')
        weighted = low * self.gate(high, low.shape[-2:])
        return low + weighted if self.residual else weighted
