from .attention_embedding import AttentionEmbedding
from .local_attention_gate import LocalAttention, LocalAttentionGate
from .patch_attention import PatchAttention

__all__ = [
    'AttentionEmbedding', 'LocalAttention', 'LocalAttentionGate',
    'PatchAttention'
]
