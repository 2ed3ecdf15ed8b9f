from .attention_embedding import AttentionEmbedding
from .local_attention_gate import LocalAttentionGate
from .patch_attention import PatchAttention

__all__ = ['AttentionEmbedding', 'LocalAttentionGate', 'PatchAttention']
