# ISPRS Vaihingen, NIR, R, G only: MMSegmentation's model-zoo input, for
# comparisons with it. Same converted data as isprs_vaihingen_irrg_dsm.py.
_base_ = ['./isprs_vaihingen_irrg_dsm.py']
bands = ('NIR', 'R', 'G')
band_mean = {{_base_.imagenet_mean}}
band_std = {{_base_.imagenet_std}}
train_dataloader = dict(
    dataset=dict(bands=bands, pipeline=_base_.optical_train_pipeline))
val_dataloader = dict(
    dataset=dict(bands=bands, pipeline=_base_.optical_test_pipeline))
test_dataloader = val_dataloader
tta_pipeline = _base_.optical_tta_pipeline
