# LANet on ResNet-50 V1c at output stride 16: the last stage dilated instead
# of strided (the paper's setting for Vaihingen).
_base_ = './lanet_r50-d32.py'
model = dict(backbone=dict(strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2)))
