# LANet (Ding et al., TGRS 2021) on ResNet-50 V1c, output stride 32, in the
# paper's form. Configs with a data set set the input bands
# (data_preprocessor mean/std, backbone.band_names); configs/lanet/README.md
# lists the options that reproduce the authors' code instead.
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=False,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='MultiBandResNet',
        band_names=('R', 'G', 'B'),  # set from the data set config
        # The pretrained RGB filter each band starts from, by band name: the
        # RGB bands keep theirs, NIR the red one (nearest wavelength), the
        # height bands the mean of the three.
        band_filters=dict(
            R='R', G='G', B='B', NIR='R', DSM='mean', nDSM='mean'),
        depth=50,
        deep_stem=True,  # ResNetV1c
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        strides=(1, 2, 2, 2),
        dilations=(1, 1, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),
    decode_head=dict(
        type='LANetHead',
        in_channels=(256, 2048),  # (low level: stage 1, high level: stage 4)
        in_index=(0, 3),
        input_transform='multiple_select',
        channels=128,
        low_channels=64,
        with_low_level=True,
        fusion='sum',
        high_pam=dict(type='PatchAttention', reduction=16, window=4),
        low_pam=dict(type='PatchAttention', reduction=8, window=20),
        aem=dict(type='AttentionEmbedding', reduction=16, window=4),
        dropout_ratio=0.1,
        num_classes=6,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    # The paper predicts whole tiles.
    test_cfg=dict(mode='whole'))
