from .multiband_hrnet import MultiBandHRNet
from .multiband_resnet import MultiBandResNet

__all__ = ['MultiBandHRNet', 'MultiBandResNet']
