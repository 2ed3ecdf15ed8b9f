# Decode heads of the comparison (configs/compare/README.md), less what they
# share with LANet's head (`decode_head_common` of lanet_head.py). A
# comparison config inherits a LANet config and this file, and sets
#   decode_head=dict(_base_.decode_head_common, _delete_=True, **_base_.X)
_last_stage = dict(in_channels=2048, in_index=3)  # of ResNet-50
# Attention blocks on LANet's FCN baseline (its width, 128 channels).
se_head = dict(_last_stage, type='SEHead', channels=128)
bam_head = dict(_last_stage, type='BAMHead', channels=128)
cbam_head = dict(_last_stage, type='CBAMHead', channels=128)
glore_head = dict(_last_stage, type='GloReHead', channels=128)
# MMSeg's heads with their own widths and options.
danet_head = dict(_last_stage, type='DAHead', channels=512, pam_channels=64)
pspnet_head = dict(
    _last_stage, type='PSPHead', channels=512, pool_scales=(1, 2, 3, 6))
# Atrous rates by output stride: 6-12-18 at 16 (DeepLabv3+ paper), halved at
# 32, 12-24-36 at 8 (MMSeg's R-50-D8).
deeplabv3plus_head = dict(
    _last_stage,
    type='DepthwiseSeparableASPPHead',
    channels=512,
    dilations=(1, 6, 12, 18),
    c1_in_channels=256,
    c1_channels=48)
deeplabv3plus_head_d32 = dict(deeplabv3plus_head, dilations=(1, 3, 6, 9))
deeplabv3plus_head_d8 = dict(deeplabv3plus_head, dilations=(1, 12, 24, 36))
# MMSeg's zoo models (R-50-D8) also train an FCN head on stage 3.
auxiliary_head = dict(
    type='FCNHead',
    in_channels=1024,
    in_index=2,
    channels=256,
    num_convs=1,
    concat_input=False,
    loss_decode=dict(
        type='CrossEntropyLoss',
        use_sigmoid=False,
        loss_weight=0.4,
        avg_non_ignore=True))
# ResNet-50 V1c at output stride 8 (MMSeg's "D8").
resnet_d8 = dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4))
