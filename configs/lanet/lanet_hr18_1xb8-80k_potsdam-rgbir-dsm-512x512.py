# LANet, HRNetV2-W18, Potsdam R-G-B-NIR-nDSM.
_base_ = [
    '../_base_/models/lanet_hr18.py',
    '../_base_/datasets/isprs_potsdam_rgbir_dsm.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_80k_nesterov-poly.py',
    '../_base_/models/input_potsdam_rgbir_dsm.py'
]
model = {{_base_.potsdam_rgbir_dsm_input}}
train_dataloader = dict(batch_size=8)
