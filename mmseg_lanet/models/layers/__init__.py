from .attention_embedding import AttentionEmbedding
from .bottleneck_attention import BottleneckAttention
from .convolutional_attention import ConvolutionalAttention
from .global_reasoning import GlobalReasoning
from .local_attention_gate import LocalAttention, LocalAttentionGate
from .patch_attention import PatchAttention
from .squeeze_excitation import SqueezeExcitation

__all__ = [
    'AttentionEmbedding', 'BottleneckAttention', 'ConvolutionalAttention',
    'GlobalReasoning', 'LocalAttention', 'LocalAttentionGate',
    'PatchAttention', 'SqueezeExcitation'
]
