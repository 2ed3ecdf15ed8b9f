"""Convolutional block attention module (CBAM)."""
import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
from .squeeze_excitation import channel_bottleneck


@MODELS.register_module()
class ConvolutionalAttention(BaseModule):
    """Convolutional block attention module of `CBAM: Convolutional Block
    Attention Module <https://arxiv.org/abs/1807.06521>`_ (Woo et al., ECCV
    2018, eq. 1-3).

    Channel then spatial attention, in sequence: ``F' = M_c(F) * F`` with
    ``M_c(F) = sigmoid(MLP(AvgPool(F)) + MLP(MaxPool(F)))`` (one MLP shared
    by both descriptors), then ``F'' = M_s(F') * F'`` with
    ``M_s(F') = sigmoid(f^{k x k}([mean_c(F'); max_c(F')]))``, the mean and
    max over channels stacked as a 2-channel map.

    Args:
        channels (int): Channels C of the input (and output).
        reduction (int): Reduction ratio r of the MLP. Default: 16.
        kernel_size (int): Odd kernel size k of the spatial convolution.
            Default: 7.
        act_cfg (dict): Activation of the MLP. Default: ReLU.
        init_cfg (dict, optional): Initialization config.

    Shapes:
        - x: (N, C, H, W)
        - output: (N, C, H, W)
    """

    def __init__(self,
                 channels: int,
                 reduction: int = 16,
                 kernel_size: int = 7,
                 act_cfg: ConfigType = dict(type='ReLU'),
                 init_cfg: OptConfigType = None):
        super().__init__(init_cfg)
        if not isinstance(kernel_size, int) or kernel_size % 2 == 0 \
                or kernel_size <= 0:
            raise ValueError('kernel_size must be a positive odd int, got '
                             f'{kernel_size!r}')
        self.channel_mlp = channel_bottleneck(channels, reduction, act_cfg)
        self.spatial_conv = nn.Conv2d(
            2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x: Tensor) -> Tensor:
        """Re-weight ``x`` by channel, then spatial attention."""
        channel = self.channel_mlp(x.mean(dim=(2, 3), keepdim=True)) + \
            self.channel_mlp(x.amax(dim=(2, 3), keepdim=True))
        x = x * channel.sigmoid()
        pooled = torch.cat(
            [x.mean(dim=1, keepdim=True),
             x.amax(dim=1, keepdim=True)], dim=1)
        return x * self.spatial_conv(pooled).sigmoid()
