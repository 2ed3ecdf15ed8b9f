"""Bottleneck attention module (BAM)."""
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
from .squeeze_excitation import channel_bottleneck


@MODELS.register_module()
class BottleneckAttention(BaseModule):
    """Bottleneck attention module of `BAM: Bottleneck Attention Module
    <https://arxiv.org/abs/1807.06514>`_ (Park et al., BMVC 2018, eq. 1-4).

    ``F + F * sigmoid(M_c(F) + M_s(F))`` with the channel branch
    ``M_c(F) = BN(MLP(AvgPool(F)))`` (C x 1 x 1) and the spatial branch
    ``M_s(F) = BN(f_3(f_2(f_1(f_0(F)))))`` (1 x H x W): ``f_0`` a 1x1
    convolution to C / r channels, ``f_1`` and ``f_2`` 3x3 convolutions of
    dilation d, ``f_3`` a 1x1 convolution to one channel. As in the
    authors' code (``SpatialGate`` of Jongchan/attention-module), each of
    ``f_0``, ``f_1`` and ``f_2`` is followed by norm and activation, which
    the paper's equation leaves implicit; the final BN on the one-channel
    map is the paper's. The two maps are broadcast to C x H x W before
    their sum.

    Args:
        channels (int): Channels C of the input (and output).
        reduction (int): Reduction ratio r of both branches. Default: 16.
        dilation (int): Dilation d of the spatial branch. Default: 4.
        norm_cfg (dict): The BN of both branches. Default: BN.
        act_cfg (dict): Activation inside the branches. Default: ReLU.
        init_cfg (dict, optional): Initialization config.

    Shapes:
        - x: (N, C, H, W); N > 1 in training (BN of the C x 1 x 1 channel
          attention)
        - output: (N, C, H, W)
    """

    def __init__(self,
                 channels: int,
                 reduction: int = 16,
                 dilation: int = 4,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 init_cfg: OptConfigType = None):
        super().__init__(init_cfg)
        if not isinstance(dilation, int) or dilation <= 0:
            raise ValueError(
                f'dilation must be a positive int, got {dilation!r}')
        self.channel_mlp = channel_bottleneck(channels, reduction, act_cfg)
        self.channel_norm = build_norm_layer(norm_cfg, channels)[1]
        hidden = max(1, channels // reduction)
        self.spatial = nn.Sequential(
            ConvModule(
                channels, hidden, 1, norm_cfg=norm_cfg, act_cfg=act_cfg),
            *(ConvModule(
                hidden,
                hidden,
                3,
                padding=dilation,
                dilation=dilation,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg) for _ in range(2)),
            nn.Conv2d(hidden, 1, 1))
        self.spatial_norm = build_norm_layer(norm_cfg, 1)[1]

    def forward(self, x: Tensor) -> Tensor:
        """Re-weight ``x`` by its channel and spatial attention."""
        channel = self.channel_norm(
            self.channel_mlp(x.mean(dim=(2, 3), keepdim=True)))
        spatial = self.spatial_norm(self.spatial(x))
        return x + x * (channel + spatial).sigmoid()
