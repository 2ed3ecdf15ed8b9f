"""Every LANet config trains a few iterations on the synthetic sample data
(tools/make_sample_data.py) with mmengine's Runner, on CPU."""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmseg_lanet.datasets.synthetic import make_sample_data

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'lanet')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
CROP = 64
ITERS = 3


def name_of(path):
    return osp.basename(path)[:-3]


@pytest.fixture(scope='module')
def sample_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('sample'))
    for dataset in ('potsdam', 'vaihingen'):
        make_sample_data(dataset, root, progress=False)
    return root


def small_run(path, sample_root, work_dir, validate=False):
    """The config, on the sample data, with small crops and batches, no
    pretrained download, no checkpoint, ITERS iterations."""
    cfg = Config.fromfile(path)
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
def test_trains_on_sample_data(path, sample_root, tmp_path):
    runner = Runner.from_cfg(small_run(path, sample_root, tmp_path))
    before = copy.deepcopy(runner.model.decode_head.state_dict())
    runner.train()
    assert runner.iter == ITERS
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert torch.isfinite(torch.tensor(loss))
    after = runner.model.decode_head.state_dict()
    assert not torch.equal(before['conv_seg.weight'],
                           after['conv_seg.weight'])


def test_trains_and_validates_whole_tiles(sample_root, tmp_path):
    path = osp.join(CONFIG_DIR,
                    'lanet_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512.py')
    runner = Runner.from_cfg(
        small_run(path, sample_root, tmp_path, validate=True))
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert any(key.startswith('val/') for key in scalars)
