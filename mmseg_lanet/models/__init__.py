"""LANet's models: importing this package registers them in mmseg's MODELS.

- layers: :class:`PatchAttention` (PAM), :class:`AttentionEmbedding` (AEM);
  the compared blocks :class:`SqueezeExcitation` (SE),
  :class:`BottleneckAttention` (BAM), :class:`ConvolutionalAttention`
  (CBAM), :class:`GlobalReasoning` (GloRe)
- decode_heads: :class:`LANetHead` (LANet and its ablation rows);
  :class:`AttentionFCNHead` (FCN + one block) as :class:`SEHead`,
  :class:`BAMHead`, :class:`CBAMHead`, :class:`GloReHead`
- backbones: :class:`MultiBandResNet`, :class:`MultiBandHRNet` (4/5-band
  stems initialised from RGB-pretrained checkpoints)
- segmentors: :class:`BlendEncoderDecoder` (test mode 'blend': batched
  windows blended in a band of rows)
"""
from .backbones import *  # noqa: F401,F403
from .decode_heads import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
