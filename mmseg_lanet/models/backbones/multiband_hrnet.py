"""HRNet whose stem takes any number of bands, initialised from RGB."""
from typing import List, Mapping, Optional, Sequence, Union

from torch import Tensor

from mmseg.models.backbones import HRNet
from mmseg.registry import MODELS
from .rgb_stem import attach_rgb_stem_init, check_band_filters, \
    check_input_bands


@MODELS.register_module()
class MultiBandHRNet(HRNet):
    """HRNet (V2) for multi-band inputs that loads RGB-pretrained
    checkpoints (e.g. ``open-mmlab://msra/hrnetv2_w18``) into its stem.

    The input bands are ``band_names`` (or as many as a sequence
    ``band_filters`` has); the first stem convolution is filled from a
    3-band checkpoint as described in :mod:`.rgb_stem`. Everything else is
    mmseg's :class:`HRNet`.

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
        **kwargs: :class:`mmseg.models.backbones.HRNet` arguments;
            ``in_channels``, if given, must equal the number of bands.

    Shapes:
        - x: (N, number of bands, H, W)
        - output: list of the four branch outputs at strides 4, 8, 16, 32
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
        attach_rgb_stem_init(self.conv1, self.band_filters, self.band_names,
                             stem_rescale)

    def forward(self, x: Tensor) -> List[Tensor]:
        """Forward function, see :meth:`HRNet.forward`."""
        check_input_bands(x, self.band_names, type(self).__name__)
        return super().forward(x)
