# LANet on HRNetV2-W48: low level = the stride-4 branch, high level = the
# stride-32 branch.
_base_ = './lanet_hr18.py'
model = dict(
    backbone=dict(
        extra=dict(
            stage2=dict(num_channels=(48, 96)),
            stage3=dict(num_channels=(48, 96, 192)),
            stage4=dict(num_channels=(48, 96, 192, 384))),
        init_cfg=dict(checkpoint='open-mmlab://msra/hrnetv2_w48')),
    decode_head=dict(in_channels=(48, 384)))
