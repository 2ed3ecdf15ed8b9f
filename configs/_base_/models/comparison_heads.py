# Decode heads of the comparison (configs/compare/README.md): each takes the
# last backbone stage (2048 channels of ResNet-50) and shares LANet's
# classes, norm, dropout and loss. A comparison config inherits a LANet
# config and this file, and replaces the decode head.
_head = dict(
    in_channels=2048,
    in_index=3,
    dropout_ratio=0.1,
    num_classes=6,
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    align_corners=False,
    loss_decode=dict(
        type='CrossEntropyLoss',
        use_sigmoid=False,
        loss_weight=1.0,
        avg_non_ignore=True))
# Attention blocks on LANet's FCN baseline (its width, 128 channels).
se_head = dict(_head, type='SEHead', channels=128)
bam_head = dict(_head, type='BAMHead', channels=128)
cbam_head = dict(_head, type='CBAMHead', channels=128)
glore_head = dict(_head, type='GloReHead', channels=128)
# MMSeg's heads with their own widths and options.
danet_head = dict(_head, type='DAHead', channels=512, pam_channels=64)
pspnet_head = dict(
    _head, type='PSPHead', channels=512, pool_scales=(1, 2, 3, 6))
# Atrous rates for output stride 16 (DeepLabv3+ paper); stride 32 configs
# halve them, stride 8 configs double them (MMSeg's 1, 12, 24, 36).
deeplabv3plus_head = dict(
    _head,
    type='DepthwiseSeparableASPPHead',
    channels=512,
    dilations=(1, 6, 12, 18),
    c1_in_channels=256,
    c1_channels=48)
# MMSeg's zoo models (R-50-D8) train with an FCN head on stage 3 as well.
auxiliary_head = dict(
    _head,
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
