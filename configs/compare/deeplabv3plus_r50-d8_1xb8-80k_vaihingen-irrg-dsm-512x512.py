# MMSeg's DeepLabv3+ R-50-D8 (output stride 8, auxiliary FCN head) on
# Vaihingen NIR-R-G-DSM, with the LANet config's bands, data and schedule.
_base_ = ['../lanet/lanet_r50-d16_1xb8-80k_vaihingen-irrg-dsm-512x512.py',
          '../_base_/models/comparison_heads.py']
model = dict(
    backbone=_base_.resnet_d8,
    decode_head=dict(
        _base_.decode_head_common,
        _delete_=True,
        **_base_.deeplabv3plus_head_d8),
    auxiliary_head=dict(_base_.decode_head_common, **_base_.auxiliary_head))
