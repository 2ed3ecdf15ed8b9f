# LANet on HRNetV2-W18 (the paper's Sec. III-E names ResNet and HRNet):
# low level = the stride-4 branch, high level = the stride-32 branch. For
# a stride-16 high level take in_index=(0, 2) and in_channels=(18, 72).
_base_ = ['mmseg::_base_/models/fcn_hr18.py', './lanet_head.py']
# No top-level data_preprocessor (mmseg's fcn_hr18.py has one): the Runner
# would give it to SegTTAModel (--tta) over the model's per-band mean/std.
data_preprocessor = None
model = dict(
    data_preprocessor=dict(bgr_to_rgb=False),
    pretrained=None,
    backbone=dict(
        type='MultiBandHRNet',
        band_names=('R', 'G', 'B'),  # set from the data set config
        band_filters=_base_.rgb_filter_of_band,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://msra/hrnetv2_w18')),
    decode_head=dict(
        _base_.lanet_head, _delete_=True, in_channels=(18, 144)))
