"""FCN head with one attention block: the skeleton of the compared heads."""
from typing import List, Union

from mmcv.cnn import ConvModule
from torch import Tensor

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from mmseg.utils import OptConfigType


@MODELS.register_module()
class AttentionFCNHead(BaseDecodeHead):
    """LANet's FCN baseline head (its ablation row "FCN") with an attention
    block between the reduction and the classifier, the setting in which
    the LANet paper compares attention designs (Table VI).

    Last backbone stage -> 1x1 conv-norm-act to ``channels`` -> attention
    block (``channels`` in and out) -> dropout -> 1x1 classifier. With
    ``attention=None`` this is the FCN row itself.

    A head for a new block is a subclass that sets
    :attr:`default_attention`.

    Args:
        attention (dict, optional): Config of the block, without its
            ``channels``, e.g. ``dict(type='SqueezeExcitation')``; None for
            no block. Default: :attr:`default_attention`.
        **kwargs: :class:`BaseDecodeHead` arguments (one input level).

    Shapes:
        - inputs: backbone features; ``inputs[in_index]`` of shape
          (N, in_channels, H, W)
        - output: (N, num_classes, H, W)
    """

    #: The block of this head when ``attention`` is not given.
    default_attention: OptConfigType = None

    def __init__(self, attention: Union[dict, None, str] = 'default',
                 **kwargs):
        super().__init__(**kwargs)
        if attention == 'default':
            attention = self.default_attention
        if not isinstance(self.in_channels, int):
            raise ValueError(
                f'{type(self).__name__} takes one feature level: an int '
                f'in_channels, got {self.in_channels!r}')
        self.reduce = ConvModule(
            self.in_channels,
            self.channels,
            1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.attention = None if attention is None else MODELS.build(
            dict(attention, channels=self.channels))

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Segmentation logits, (N, num_classes, H, W)."""
        x = self.reduce(self._transform_inputs(inputs))
        if self.attention is not None:
            x = self.attention(x)
        return self.cls_seg(x)


@MODELS.register_module()
class SEHead(AttentionFCNHead):
    """:class:`AttentionFCNHead` with :class:`SqueezeExcitation` (SE)."""
    default_attention = dict(type='SqueezeExcitation')


@MODELS.register_module()
class BAMHead(AttentionFCNHead):
    """:class:`AttentionFCNHead` with :class:`BottleneckAttention` (BAM)."""
    default_attention = dict(type='BottleneckAttention')


@MODELS.register_module()
class CBAMHead(AttentionFCNHead):
    """:class:`AttentionFCNHead` with :class:`ConvolutionalAttention`
    (CBAM)."""
    default_attention = dict(type='ConvolutionalAttention')


@MODELS.register_module()
class GloReHead(AttentionFCNHead):
    """:class:`AttentionFCNHead` with :class:`GlobalReasoning` (GloRe)."""
    default_attention = dict(type='GlobalReasoning')
