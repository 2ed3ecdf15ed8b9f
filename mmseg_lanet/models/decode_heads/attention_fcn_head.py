"""FCN head with one attention block: the skeleton of the compared heads."""
from typing import List

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

    Args:
        attention (dict, optional): Config of the block, without its
            ``channels``, e.g. ``dict(type='SqueezeExcitation')``.
        **kwargs: :class:`BaseDecodeHead` arguments (one input level).

    Shapes:
        - inputs: backbone features; ``inputs[in_index]`` of shape
          (N, in_channels, H, W)
        - output: (N, num_classes, H, W)
    """

    def __init__(self, attention: OptConfigType = None, **kwargs):
        super().__init__(**kwargs)
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

    def __init__(self, attention: dict = dict(type='SqueezeExcitation'),
                 **kwargs):
        super().__init__(attention=attention, **kwargs)


@MODELS.register_module()
class BAMHead(AttentionFCNHead):
    """:class:`AttentionFCNHead` with :class:`BottleneckAttention` (BAM)."""

    def __init__(self, attention: dict = dict(type='BottleneckAttention'),
                 **kwargs):
        super().__init__(attention=attention, **kwargs)


@MODELS.register_module()
class CBAMHead(AttentionFCNHead):
    """:class:`AttentionFCNHead` with :class:`ConvolutionalAttention`
    (CBAM)."""

    def __init__(self, attention: dict = dict(type='ConvolutionalAttention'),
                 **kwargs):
        super().__init__(attention=attention, **kwargs)


@MODELS.register_module()
class GloReHead(AttentionFCNHead):
    """:class:`AttentionFCNHead` with :class:`GlobalReasoning` (GloRe)."""

    def __init__(self, attention: dict = dict(type='GlobalReasoning'),
                 **kwargs):
        super().__init__(attention=attention, **kwargs)
