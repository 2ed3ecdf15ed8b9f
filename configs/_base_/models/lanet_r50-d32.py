# LANet (Ding et al., TGRS 2021) on ResNet-50 V1c, output stride 32, in the
# paper's form. Configs with a data set set the input bands
# (data_preprocessor mean/std, backbone.band_names); configs/lanet/README.md
# lists the options that reproduce the authors' code instead.
_base_ = ['./lanet_head.py']
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    # EncoderDecoder plus test_cfg.mode='blend' (batched, blended windows).
    type='BlendEncoderDecoder',
    # Inline, with no top-level `data_preprocessor`: mmengine's Runner would
    # hand that one to SegTTAModel (--tta), replacing the model's per-band
    # mean/std that the top configs set.
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=False,
        pad_val=0,
        seg_pad_val=255),
    backbone=dict(
        type='MultiBandResNet',
        band_names=('R', 'G', 'B'),  # set from the data set config
        band_filters=_base_.rgb_filter_of_band,
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
    decode_head=_base_.lanet_head,
    train_cfg=dict(),
    # The paper predicts whole tiles.
    test_cfg=dict(mode='whole'))
