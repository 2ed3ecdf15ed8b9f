# LANet, HRNetV2-W48, Potsdam R-G-B-NIR-nDSM.
_base_ = [
    '../_base_/models/lanet_hr48.py',
    '../_base_/datasets/isprs_potsdam_rgbir_dsm.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_80k_nesterov-poly.py'
]
model = dict(
    data_preprocessor=dict(
        size=_base_.crop_size, mean=_base_.band_mean, std=_base_.band_std),
    backbone=dict(band_names=_base_.bands))
