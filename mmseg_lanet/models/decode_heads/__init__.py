from .attention_fcn_head import (AttentionFCNHead, BAMHead, CBAMHead,
                                 GloReHead, SEHead)
from .lanet_head import LANetHead

__all__ = [
    'AttentionFCNHead', 'BAMHead', 'CBAMHead', 'GloReHead', 'LANetHead',
    'SEHead'
]
