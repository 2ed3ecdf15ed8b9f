from .lanet_head import LANetHead

__all__ = ['LANetHead']
