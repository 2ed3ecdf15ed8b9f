"""Attention embedding module (AEM) of LANet."""
from torch import Tensor

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
from .local_attention_gate import LocalAttention
from .patch_pooling import WindowType


@MODELS.register_module()
class AttentionEmbedding(LocalAttention):
    """Attention embedding module (AEM) of `LANet
    <https://ieeexplore.ieee.org/document/9102424>`_ (Sec. III-C, eq. 4-5).

    Local attention computed on the *high-level* map ``Z_h`` (patch
    descriptors, 1x1 reduce -> activation -> 1x1 to the low-level channel
    count, sigmoid) is upsampled to the low-level map ``X_l`` and embedded
    as ``X_l + X_l * A_l``: the low-level features gain the context of the
    high-level ones while their spatial detail is kept.

    The paper's form is the default (the descriptors are "the same
    calculation as in (1)", i.e. the PAM's patches). The authors' code
    corresponds to ``window=7, pool_mode='sliding'`` (a stride-1 7x7
    window), ``upsample_mode='bilinear'``, ``norm_cfg=dict(type='BN',
    momentum=0.95)`` and ``residual=False``.

    Args:
        high_channels (int): Channels C_h of the high-level map.
        low_channels (int): Channels C_l of the low-level map (and output).
        reduction (int): Bottleneck reduction ratio r on C_h. Default: 16.
        window (int | tuple[int, int]): Patch size in pixels of the
            high-level map. Default: 4.
        pool_mode (str): How patch descriptors are pooled, see
            :data:`~.patch_pooling.POOL_MODES`: 'patch' (paper),
            'adaptive' or 'sliding' (authors' code). Default: 'patch'.
        upsample_mode (str): How the attention returns to the map size
            (``F_U``), see :data:`~.patch_pooling.UPSAMPLE_MODES`: 'patch'
            (paper) or 'bilinear' (authors' code). Default: 'patch'.
        norm_cfg (dict, optional): Norm layer between the two 1x1
            convolutions; none in the paper. Default: None.
        act_cfg (dict): The activation between them. Default: ReLU.
        align_corners (bool): For bilinear upsampling. Default: False.
        residual (bool): Return ``X_l + X_l * A_l`` (paper eq. 5) or
            ``X_l * A_l`` (authors' code). Default: True.
        init_cfg (dict, optional): Initialization config. Default: None.

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
                 align_corners: bool = False,
                 residual: bool = True,
                 init_cfg: OptConfigType = None):
        super().__init__(
            high_channels,
            low_channels,
            reduction,
            window,
            pool_mode=pool_mode,
            upsample_mode=upsample_mode,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            align_corners=align_corners,
            residual=residual,
            init_cfg=init_cfg)

    def forward(self, high: Tensor, low: Tensor) -> Tensor:
        """Embed the attention of ``high`` into ``low``."""
        if high.shape[0] != low.shape[0]:
            raise ValueError('high and low must have the same batch size, '
                             f'got {high.shape[0]} and {low.shape[0]}')
        return self.modulate(low, high)
