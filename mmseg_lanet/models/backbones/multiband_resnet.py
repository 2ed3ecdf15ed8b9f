"""ResNet whose stem takes any number of bands, initialised from RGB."""
from typing import Mapping, Optional, Sequence, Tuple, Union

from torch import Tensor

from mmseg.models.backbones import ResNet
from mmseg.registry import MODELS
from .rgb_stem import attach_rgb_stem_init, check_band_filters, \
    check_input_bands


@MODELS.register_module()
class MultiBandResNet(ResNet):
    """ResNet for multi-band inputs (e.g. R, G, B, NIR, nDSM) that loads
    RGB-pretrained checkpoints into its stem.

    The input bands are ``band_names`` (or as many as a sequence
    ``band_filters`` has). A 3-band checkpoint loaded into the model fills
    the first stem convolution band by band as ``band_filters`` says (see
    :mod:`.rgb_stem`); everything else is the plain mmseg :class:`ResNet`
    (``deep_stem=True`` gives ResNetV1c, whose ImageNet weights are
    ``open-mmlab://resnet50_v1c``).

    Args:
        band_filters (Sequence[str] | Mapping[str, str]): The pretrained
            filter each input band starts from, 'R', 'G', 'B', 'mean' (of
            the three) or 'zero': per band in order, or by band name, e.g.
            ``dict(R='R', G='G', B='B', NIR='R', DSM='mean')``.
            Default: ('R', 'G', 'B').
        band_names (Sequence[str], optional): The input bands in order, e.g.
            ('R', 'G', 'B', 'NIR', 'nDSM'); needed with a mapping.
        stem_rescale (bool): Scale the expanded stem by 3 / (non-zero
            bands). Default: True.
        **kwargs: :class:`mmseg.models.backbones.ResNet` arguments;
            ``in_channels``, if given, must equal the number of bands.

    Shapes:
        - x: (N, number of bands, H, W)
        - output: tuple of the stage outputs selected by ``out_indices``
    """

    def __init__(self,
                 band_filters: Union[Sequence[str], Mapping[str, str]] = (
                     'R', 'G', 'B'),
                 band_names: Optional[Sequence[str]] = None,
                 stem_rescale: bool = True,
                 **kwargs):
        self.band_filters, self.band_names = check_band_filters(
            band_filters, band_names, kwargs.pop('in_channels', None))
        super().__init__(in_channels=len(self.band_filters), **kwargs)
        stem_conv = self.stem[0] if self.deep_stem else self.conv1
        attach_rgb_stem_init(stem_conv, self.band_filters, self.band_names,
                             stem_rescale)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Forward function, see :meth:`ResNet.forward`."""
        check_input_bands(x, self.band_names, type(self).__name__)
        return super().forward(x)
