# LANet, ResNet-50, output stride 32, Potsdam R-G-B-NIR-nDSM (5 bands).
_base_ = [
    '../_base_/models/lanet_r50-d32.py',
    '../_base_/datasets/isprs_potsdam_rgbir_dsm.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_80k_nesterov-poly.py'
]
crop_size = (512, 512)
# The authors' statistics of raw 0-255 values, in band order.
data_preprocessor = dict(
    size=crop_size,
    mean=[85.8, 91.7, 84.9, 96.6, 47.0],
    std=[35.8, 35.2, 36.5, 37.0, 55.0])
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        band_names=('R', 'G', 'B', 'NIR', 'nDSM'),
        # RGB bands keep their pretrained filter, NIR starts from red, nDSM
        # from the mean of the RGB filters.
        band_filters=('R', 'G', 'B', 'R', 'mean')))
train_dataloader = dict(batch_size=8)
