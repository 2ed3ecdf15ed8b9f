from .multiband_hrnet import MultiBandHRNet
from .multiband_resnet import MultiBandResNet
from .multiband_stem import MultiBandStemMixin

__all__ = ['MultiBandHRNet', 'MultiBandResNet', 'MultiBandStemMixin']
