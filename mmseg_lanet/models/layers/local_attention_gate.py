"""The gate shared by LANet's PAM and AEM (local descriptors to attention)
and their common base (attention applied with or without a residual)."""
from typing import Optional, Sequence

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmseg.utils import ConfigType, OptConfigType
from .patch_pooling import (POOL_MODES, UPSAMPLE_MODES, WindowType,
                            pool_descriptors, to_window, upsample_attention)


class LocalAttentionGate(BaseModule):
    """Patch-wise squeeze-and-excitation gate of LANet (eq. 1-4).

    ``A = F_U{sigmoid[H_i delta(H_r Z)]}`` where ``Z`` are the patch
    descriptors of the source map, ``H_r`` a 1x1 convolution reducing the
    channels by ``reduction``, ``delta`` the activation, ``H_i`` a 1x1
    convolution to ``out_channels`` and ``F_U`` the upsampling to the target
    size. PAM uses it with source = target (eq. 2), AEM with the high-level
    map as source and the low-level map as target (eq. 4).

    Args:
        in_channels (int): Channels C of the source map.
        out_channels (int): Channels of the attention map.
        reduction (int): Reduction ratio r; the bottleneck has
            ``max(1, in_channels // reduction)`` channels.
        window (int | tuple[int, int]): Patch size ``(h_p, w_p)`` in pixels
            of the source map.
        pool_mode (str): See :data:`~.patch_pooling.POOL_MODES`.
            Default: 'patch'.
        upsample_mode (str): See :data:`~.patch_pooling.UPSAMPLE_MODES`.
            Default: 'patch'.
        norm_cfg (dict, optional): Norm layer between the two convolutions.
            The paper has none (SE design); the authors' code uses
            ``dict(type='BN', momentum=0.95)``. Default: None.
        act_cfg (dict): The activation ``delta``. Default: ReLU.
        align_corners (bool): For bilinear upsampling. Default: False.
        init_cfg (dict, optional): Initialization config.

    Shapes:
        - source: (N, in_channels, H, W)
        - output: (N, out_channels, *target_size), values in (0, 1)
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 reduction: int,
                 window: WindowType,
                 pool_mode: str = 'patch',
                 upsample_mode: str = 'patch',
                 norm_cfg: OptConfigType = None,
                 act_cfg: ConfigType = dict(type='ReLU'),
                 align_corners: bool = False,
                 init_cfg: OptConfigType = None):
        super().__init__(init_cfg)
        if pool_mode not in POOL_MODES:
            raise ValueError(
                f'pool_mode must be one of {POOL_MODES}, got {pool_mode!r}')
        if upsample_mode not in UPSAMPLE_MODES:
            raise ValueError(f'upsample_mode must be one of {UPSAMPLE_MODES}, '
                             f'got {upsample_mode!r}')
        if not isinstance(reduction, int) or reduction <= 0:
            raise ValueError(
                f'reduction must be a positive int, got {reduction!r}')
        self.window = to_window(window)
        if pool_mode == 'sliding' and min(w % 2 for w in self.window) == 0:
            raise ValueError('pool_mode="sliding" needs an odd window so that '
                             f'the descriptor map keeps the source size, '
                             f'got window={window!r}')
        self.pool_mode = pool_mode
        self.upsample_mode = upsample_mode
        self.align_corners = align_corners
        hidden_channels = max(1, in_channels // reduction)
        self.reduce = ConvModule(
            in_channels,
            hidden_channels,
            1,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.expand = nn.Conv2d(hidden_channels, out_channels, 1)

    def forward(self, source: Tensor, target_size: Sequence[int]) -> Tensor:
        """Compute the attention map of ``source`` at ``target_size``."""
        descriptors = pool_descriptors(source, self.window, self.pool_mode)
        hidden = self._reduce(descriptors)
        attention = self.expand(hidden).sigmoid()
        return upsample_attention(
            attention,
            source.shape[-2:],
            target_size,
            self.window,
            pool_mode=self.pool_mode,
            mode=self.upsample_mode,
            align_corners=self.align_corners)

    def _reduce(self, descriptors: Tensor) -> Tensor:
        norm: Optional[nn.Module] = getattr(self.reduce, 'norm', None)
        single_value = descriptors.shape[0] * descriptors.shape[2] * \
            descriptors.shape[3] == 1
        if not (self.training and single_value
                and isinstance(norm, _BatchNorm)):
            return self.reduce(descriptors)
        # Batch norm cannot take statistics of one value per channel (batch
        # of one, one patch covering the map): normalise that step with the
        # running statistics instead of failing.
        norm.eval()
        try:
            return self.reduce(descriptors)
        finally:
            norm.train()


class LocalAttention(BaseModule):
    """Base of :class:`PatchAttention` and :class:`AttentionEmbedding`:
    re-weight a target map by the :class:`LocalAttentionGate` of a source
    map, ``T + T * A`` (residual) or ``T * A``.

    Args:
        in_channels (int): Channels of the source map.
        out_channels (int): Channels of the target map.
        reduction (int): Bottleneck reduction ratio r.
        window (int | tuple[int, int]): Patch size in source pixels.
        pool_mode, upsample_mode, norm_cfg, act_cfg, align_corners: As in
            :class:`LocalAttentionGate`.
        residual (bool): Keep the target on a residual path.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 reduction: int,
                 window: WindowType,
                 pool_mode: str = 'patch',
                 upsample_mode: str = 'patch',
                 norm_cfg: OptConfigType = None,
                 act_cfg: ConfigType = dict(type='ReLU'),
                 align_corners: bool = False,
                 residual: bool = True,
                 init_cfg: OptConfigType = None):
        super().__init__(init_cfg)
        self.residual = residual
        self.gate = LocalAttentionGate(
            in_channels,
            out_channels,
            reduction,
            window,
            pool_mode=pool_mode,
            upsample_mode=upsample_mode,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            align_corners=align_corners)

    def modulate(self, target: Tensor, source: Tensor) -> Tensor:
        """``target (+ target) * gate(source)`` at the target's size."""
        weighted = target * self.gate(source, target.shape[-2:])
        return target + weighted if self.residual else weighted
