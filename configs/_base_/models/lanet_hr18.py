# LANet on HRNetV2-W18 (the paper's Sec. III-E names ResNet and HRNet):
# low level = the stride-4 branch, high level = the stride-32 branch. For
# a stride-16 high level take in_index=(0, 2) and in_channels=(18, 72).
_base_ = 'mmseg::_base_/models/fcn_hr18.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=dict(bgr_to_rgb=False),
    pretrained=None,
    backbone=dict(
        type='MultiBandHRNet',
        band_names=('R', 'G', 'B'),  # set from the data set config
        # The pretrained RGB filter each band starts from, by band name: the
        # RGB bands keep theirs, NIR the red one (nearest wavelength), the
        # height bands the mean of the three.
        band_filters=dict(
            R='R', G='G', B='B', NIR='R', DSM='mean', nDSM='mean'),
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://msra/hrnetv2_w18')),
    decode_head=dict(
        _delete_=True,
        type='LANetHead',
        in_channels=(18, 144),
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
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
