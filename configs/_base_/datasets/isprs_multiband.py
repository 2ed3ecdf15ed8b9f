# Shared by the ISPRS multi-band data set configs: the LANet paper's data
# setting. Training takes random 512 x 512 crops of whole tiles with flips,
# on the eroded reference (boundaries ignored, as the LANet authors train);
# testing predicts whole tiles, evaluated on the eroded reference with the
# ISPRS metric. Not usable alone: isprs_potsdam_rgbir_dsm.py and
# isprs_vaihingen_irrg_dsm.py set the data set type, root and bands.
crop_size = (512, 512)
train_pipeline = [
    # Crop-first: the crop is drawn as RandomCrop(crop_size,
    # cat_max_ratio=0.75) draws it on the whole tile, then only that window
    # of the optical, height and label files is read.
    dict(type='LoadMultiBandCrop', crop_size=crop_size, cat_max_ratio=0.75),
    # The whole tile's statistics (conversion.json), though after the crop.
    # The height band leaves with mean 0 and std 1: SegDataPreProcessor
    # gives it mean 0.0, std 1.0.
    dict(type='NormalizeDSM', mode='per_tile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='BandAwarePhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
# Whole tiles, no resize: the model's test_cfg chooses whole-tile or sliding
# window inference (whole_tile_inference / slide_inference below).
test_pipeline = [
    dict(type='LoadMultiBandImageFromFile'),
    dict(type='NormalizeDSM', mode='per_tile'),
    dict(type='LoadISPRSAnnotations'),
    dict(type='PackSegInputs')
]
# tools/test.py --tta: logits averaged over the tile as is and flipped
# horizontally or vertically (each flip is undone before averaging; a
# combined flip would only be undone along one axis, so it is not used).
tta_pipeline = [
    dict(type='LoadMultiBandImageFromFile'),
    dict(type='NormalizeDSM', mode='per_tile'),
    dict(
        type='TestTimeAug',
        transforms=[[
            dict(type='RandomFlip', prob=0., direction='horizontal'),
            dict(type='RandomFlip', prob=1., direction='horizontal'),
            dict(type='RandomFlip', prob=1., direction='vertical')
        ], [dict(type='LoadISPRSAnnotations')], [dict(type='PackSegInputs')]])
]
# For optical-only variants (no height band).
optical_train_pipeline = [
    step for step in train_pipeline if step['type'] != 'NormalizeDSM'
]
optical_test_pipeline = [
    step for step in test_pipeline if step['type'] != 'NormalizeDSM'
]
optical_tta_pipeline = [
    step for step in tta_pipeline if step['type'] != 'NormalizeDSM'
]
# MMSegmentation model zoo statistics (ImageNet, RGB order), for 3-band
# variants compared with the zoo.
imagenet_mean = [123.675, 116.28, 103.53]
imagenet_std = [58.395, 57.12, 57.375]
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_prefix=dict(
            img_path='img_dir/train',
            dsm_path='dsm_dir/train',
            # The eroded reference, as the LANet authors (noBoundary). The
            # full reference is one line in a config:
            # train_dataloader = dict(dataset=dict(data_prefix=dict(
            #     seg_map_path='ann_dir/train')))
            seg_map_path='ann_eroded_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        data_prefix=dict(
            img_path='img_dir/val',
            dsm_path='dsm_dir/val',
            # Evaluated reference: the eroded one (ISPRS convention,
            # boundaries = 255, ignored). Full reference: 'ann_dir/val'.
            seg_map_path='ann_eroded_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# ISPRS conventions: mF1 and mIoU over the five classes without clutter, OA
# over all classes; mIoU_with_clutter is MMSegmentation's zoo convention.
val_evaluator = dict(
    type='ISPRSMetric', mean_exclude=('clutter', ), oa_exclude=())
test_evaluator = val_evaluator
# Model test settings: model = dict(test_cfg=_base_.slide_inference).
whole_tile_inference = dict(mode='whole')
slide_inference = dict(mode='slide', crop_size=crop_size, stride=(341, 341))
# The same windows, batched and blended (BlendEncoderDecoder, the engine of
# tools/predict.py).
blend_inference = dict(
    mode='blend', crop_size=crop_size, stride=(341, 341), batch_size=8,
    floor=0.1)
