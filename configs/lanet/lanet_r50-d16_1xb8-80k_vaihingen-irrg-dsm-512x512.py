# LANet, ResNet-50, output stride 16 (last stage dilated), Vaihingen
# NIR-R-G-DSM (4 bands).
_base_ = [
    '../_base_/models/lanet_r50-d32.py',
    '../_base_/datasets/isprs_vaihingen_irrg_dsm.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_80k_nesterov-poly.py'
]
crop_size = (512, 512)
# The authors' Potsdam statistics reordered to NIR, R, G, DSM (they publish
# none for Vaihingen).
data_preprocessor = dict(
    size=crop_size,
    mean=[96.6, 85.8, 91.7, 47.0],
    std=[37.0, 35.8, 35.2, 55.0])
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        band_names=('NIR', 'R', 'G', 'DSM'),
        band_filters=('R', 'R', 'G', 'mean')))
train_dataloader = dict(batch_size=8)
