"""Squeeze-and-excitation block (SE)."""
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType


def channel_bottleneck(channels: int, reduction: int,
                       act_cfg: ConfigType) -> nn.Sequential:
    """The two-layer perceptron of SE, BAM and CBAM on (N, C, 1, 1)
    descriptors: ``W_1 delta(W_0 z + b_0) + b_1`` with ``W_0`` reducing the
    channels by ``reduction`` (at least one hidden channel)."""
    if not isinstance(reduction, int) or reduction <= 0:
        raise ValueError(
            f'reduction must be a positive int, got {reduction!r}')
    hidden = max(1, channels // reduction)
    return nn.Sequential(
        ConvModule(channels, hidden, 1, act_cfg=act_cfg),
        nn.Conv2d(hidden, channels, 1))


@MODELS.register_module()
class SqueezeExcitation(BaseModule):
    """Squeeze-and-excitation block of `Squeeze-and-Excitation Networks
    <https://arxiv.org/abs/1709.01507>`_ (Hu et al., CVPR 2018, eq. 2-4).

    ``z = GAP(X)``, ``s = sigmoid(W_1 delta(W_0 z))`` and ``X * s``: one
    channel attention vector for the whole map. LANet's PAM is this block
    computed per patch (with a residual path).

    Args:
        channels (int): Channels C of the input (and output).
        reduction (int): Reduction ratio r of the bottleneck. Default: 16.
        act_cfg (dict): The activation ``delta``. Default: ReLU.
        init_cfg (dict, optional): Initialization config.

    Shapes:
        - x: (N, C, H, W)
        - output: (N, C, H, W)
    """

    def __init__(self,
                 channels: int,
                 reduction: int = 16,
                 act_cfg: ConfigType = dict(type='ReLU'),
                 init_cfg: OptConfigType = None):
        super().__init__(init_cfg)
        self.bottleneck = channel_bottleneck(channels, reduction, act_cfg)

    def forward(self, x: Tensor) -> Tensor:
        """Re-weight the channels of ``x``."""
        squeezed = x.mean(dim=(2, 3), keepdim=True)
        return x * self.bottleneck(squeezed).sigmoid()
