"""ResNet whose stem takes any number of bands, initialised from RGB."""
from torch import nn

from mmseg.models.backbones import ResNet
from mmseg.registry import MODELS
from .multiband_stem import MultiBandStemMixin


@MODELS.register_module()
class MultiBandResNet(MultiBandStemMixin, ResNet):
    """ResNet for multi-band inputs (e.g. R, G, B, NIR, nDSM) that loads
    RGB-pretrained checkpoints into its stem.

    A 3-band checkpoint loaded into the model fills the first stem
    convolution band by band as ``band_filters`` says (see
    :class:`MultiBandStemMixin` for the band arguments); everything else is
    the plain mmseg :class:`ResNet` (``deep_stem=True`` gives ResNetV1c,
    whose ImageNet weights are ``open-mmlab://resnet50_v1c``).

    Shapes:
        - x: (N, number of bands, H, W)
        - output: tuple of the stage outputs selected by ``out_indices``
    """

    def stem_conv(self) -> nn.Conv2d:
        return self.stem[0] if self.deep_stem else self.conv1
