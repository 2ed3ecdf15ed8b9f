"""HRNet whose stem takes any number of bands, initialised from RGB."""
from torch import nn

from mmseg.models.backbones import HRNet
from mmseg.registry import MODELS
from .multiband_stem import MultiBandStemMixin


@MODELS.register_module()
class MultiBandHRNet(MultiBandStemMixin, HRNet):
    """HRNet (V2) for multi-band inputs that loads RGB-pretrained
    checkpoints (e.g. ``open-mmlab://msra/hrnetv2_w18``) into its stem.

    The first stem convolution is filled from a 3-band checkpoint as
    ``band_filters`` says (see :class:`MultiBandStemMixin` for the band
    arguments); everything else is mmseg's :class:`HRNet`.

    Shapes:
        - x: (N, number of bands, H, W)
        - output: list of the four branch outputs at strides 4, 8, 16, 32
    """

    def stem_conv(self) -> nn.Conv2d:
        return self.conv1
