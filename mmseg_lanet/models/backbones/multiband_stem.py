"""Mixin for backbones whose stem takes any bands, initialised from RGB."""
from typing import Mapping, Optional, Sequence, Union

from torch import Tensor, nn

from .rgb_stem import attach_rgb_stem_init, check_band_filters, \
    check_input_bands


class MultiBandStemMixin:
    """Turn an mmseg backbone with a 3-band stem into a multi-band one.

    Mixed in before the backbone class (``class X(MultiBandStemMixin,
    Backbone)``), it builds the backbone with one input channel per band,
    makes its first convolution accept 3-band checkpoints (filters expanded
    as ``band_filters`` says, see :mod:`.rgb_stem`) and checks the band count
    of every input. Subclasses name their first convolution in
    :meth:`stem_conv`.

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
        **kwargs: Arguments of the backbone; ``in_channels``, if given, must
            equal the number of bands.
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
        attach_rgb_stem_init(self.stem_conv(), self.band_filters,
                             self.band_names, stem_rescale)

    def stem_conv(self) -> nn.Conv2d:
        """The convolution that receives the input bands."""
        raise NotImplementedError

    def forward(self, x: Tensor):
        """Check the band count, then the backbone's forward."""
        check_input_bands(x, self.band_names, type(self).__name__)
        return super().forward(x)
