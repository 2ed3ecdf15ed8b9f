"""Every LANet config trains a few iterations on the synthetic sample data
(tools/make_sample_data.py) with mmengine's Runner, on CPU."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmseg_lanet.datasets.isprs_classes import ISPRS_CLASSES

from _lanet_configs import CONFIG_DIR, CONFIGS, name_of
from _small_models import shrink_model

CROP = 64
ITERS = 3


def small_run(path, sample_root, work_dir, validate=False):
    """The config, on the sample data, with small crops and batches, no
    pretrained download, no checkpoint, ITERS iterations."""
    # Unformatted config text: the Runner logs and dumps it, and yapf's
    # formatting took about a third of each of these tiny runs.
    cfg = Config.fromfile(path, format_python_code=False)
    dataset = 'potsdam' if 'potsdam' in name_of(path) else 'vaihingen'
    cfg.work_dir = str(work_dir)
    cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor.size = (CROP, CROP)
    cfg.default_hooks.checkpoint = None
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=ITERS, val_interval=ITERS)
    cfg.param_scheduler[0].end = ITERS
    for step in cfg.train_dataloader.dataset.pipeline:
        if step.type in ('RandomCrop', 'LoadMultiBandCrop'):
            step.crop_size = (CROP, CROP)
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.update(num_workers=0, persistent_workers=False)
        loader.dataset.data_root = osp.join(sample_root, dataset)
    cfg.train_dataloader.batch_size = 2
    if not validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    return cfg


@pytest.mark.parametrize('path', CONFIGS, ids=name_of)
def test_trains_on_sample_data(path, sample_data_root, tmp_path):
    cfg = small_run(path, sample_data_root, tmp_path)
    if 'HRNet' not in cfg.model.backbone.type:
        # ResNets at 1/8 width (test_lanet_configs trains the full ones a
        # step); the HRNets keep their widths, which fix the head's.
        shrink_model(cfg)
    authors = 'authors' in name_of(path)
    if authors:  # their later recipe: high branch loss decayed by a hook
        cfg.custom_hooks = [dict(type='BranchLossDecayHook', power=2.)]
    runner = Runner.from_cfg(cfg)
    before = copy.deepcopy(runner.model.decode_head.state_dict())
    runner.train()
    assert runner.iter == ITERS
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert torch.isfinite(torch.tensor(loss))
    after = runner.model.decode_head.state_dict()
    assert not torch.equal(before['conv_seg.weight'],
                           after['conv_seg.weight'])
    if authors:
        # (1 - t / T) ** 2 with t = 1, 2, 3 of T = 3: the last step is 0.
        assert runner.model.decode_head.branch_loss_scale == 0.
        high = runner.message_hub.get_scalar('train/decode.loss_ce_high')
        assert high.data[0][0] > 0 and high.current() == 0.


def test_trains_and_validates_whole_tiles(sample_data_root, tmp_path):
    path = osp.join(CONFIG_DIR,
                    'lanet_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512.py')
    runner = Runner.from_cfg(
        small_run(path, sample_data_root, tmp_path, validate=True))
    runner.train()
    scalars = runner.message_hub.log_scalars
    val = {key[len('val/'):]: scalars[key].current()
           for key in scalars if key.startswith('val/')}
    means = ('OA', 'mF1', 'mIoU', 'mF1_with_clutter', 'mIoU_with_clutter')
    per_class = [f'{score}.{name}' for score in ('F1', 'IoU')
                 for name in ISPRS_CLASSES]
    assert set(means) | set(per_class) <= set(val)
    for key in (*means, *per_class):
        assert 0 <= val[key] <= 100, (key, val[key])
    # The ISPRS means (clutter left out) and MMSeg's (all classes), and
    # F1 = 2 IoU / (1 + IoU) per class: the scores fit together.
    f1 = torch.tensor([val[f'F1.{name}'] for name in ISPRS_CLASSES]) / 100
    iou = torch.tensor([val[f'IoU.{name}'] for name in ISPRS_CLASSES]) / 100
    torch.testing.assert_close(f1, 2 * iou / (1 + iou), atol=2e-4, rtol=0)
    assert val['mF1'] == pytest.approx(100 * f1[:5].mean().item(), abs=0.011)
    assert val['mIoU'] == pytest.approx(100 * iou[:5].mean().item(), abs=0.011)
    assert val['mIoU_with_clutter'] == pytest.approx(
        100 * iou.mean().item(), abs=0.011)
    assert val['mIoU'] <= val['mF1']
    # After 3 iterations the model predicts something: OA is not 0.
    assert val['OA'] > 0
