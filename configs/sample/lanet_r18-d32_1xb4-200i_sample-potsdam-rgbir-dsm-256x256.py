# The README's first run: LANet on a ResNet-18 V1c, trained from scratch for
# 200 iterations on the SYNTHETIC Potsdam-like sample written by
#   python tools/make_sample_data.py --dataset potsdam --out data/sample
# A few minutes on 2 CPU cores; it checks the whole data path and prints
# the ISPRS metrics (OA, per-class F1, mean F1, mIoU). It is not a model to
# compare with the paper: see configs/lanet/ for those.
_base_ = [
    '../_base_/models/lanet_r50-d32.py',
    '../_base_/datasets/sample_potsdam_rgbir_dsm.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_80k_nesterov-poly.py',
]
model = dict(
    data_preprocessor=dict(
        size=_base_.crop_size, mean=_base_.band_mean, std=_base_.band_std),
    backbone=dict(
        band_names=_base_.bands,
        depth=18,
        # No download here: trained from scratch.
        init_cfg=None),
    decode_head=dict(in_channels=(64, 512)))
# The authors' recipe (Nesterov SGD, poly 1.5) scaled down: from scratch,
# lr 0.01 is stable at batch 4.
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [
    dict(type='PolyLR', eta_min=0., power=1.5, begin=0, end=200,
         by_epoch=False)
]
train_cfg = dict(max_iters=200, val_interval=200)
default_hooks = dict(
    logger=dict(interval=20), checkpoint=dict(interval=100))
randomness = dict(seed=0)
