"""Every comparison config builds as described, trains 2 iterations on the
synthetic sample data and evaluates (models shrunk, CPU)."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from _lanet_configs import check_model_index, name_of
from _small_models import shrink_model
from mmseg_lanet.models.complexity import build_segmentor
from test_train_on_sample_data import small_run

ROOT = osp.join(osp.dirname(__file__), '..', '..')
CONFIG_DIR = osp.join(ROOT, 'configs', 'compare')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
LANET_DIR = osp.join(ROOT, 'configs', 'lanet')
# Config name prefix -> decode head type.
HEADS = {
    'fcn-se': 'SEHead',
    'fcn-bam': 'BAMHead',
    'fcn-cbam': 'CBAMHead',
    'fcn-glore': 'GloReHead',
    'danet': 'DAHead',
    'pspnet': 'PSPHead',
    'deeplabv3plus': 'DepthwiseSeparableASPPHead',
}
DATASETS = {
    'potsdam': ('_1xb8-80k_potsdam-rgbir-dsm-512x512', 'r50-d32', 5),
    'vaihingen': ('_1xb8-80k_vaihingen-irrg-dsm-512x512', 'r50-d16', 4),
}
STRIDES = {'d32': (1, 2, 2, 2), 'd16': (1, 2, 2, 1), 'd8': (1, 2, 1, 1)}


def lanet_config(path):
    dataset = 'potsdam' if 'potsdam' in name_of(path) else 'vaihingen'
    tail, backbone, _ = DATASETS[dataset]
    return Config.fromfile(osp.join(LANET_DIR, f'lanet_{backbone}{tail}.py'))


def test_every_head_for_both_data_sets():
    names = {name_of(p) for p in CONFIGS}
    expected = {
        f'{head}_{backbone}{tail}'
        for head in HEADS for tail, backbone, _ in DATASETS.values()
    } | {
        f'{head}_r50-d8{tail}'
        for head in ('pspnet', 'deeplabv3plus')
        for tail, _, _ in DATASETS.values()
    }
    assert names == expected


@pytest.mark.parametrize('path', CONFIGS, ids=name_of)
def test_differs_from_lanet_only_by_its_head(path):
    """Same bands, data, schedule and evaluator as the LANet config; the
    backbone differs only for MMSeg's D8 models."""
    cfg, lanet = Config.fromfile(path), lanet_config(path)
    name = name_of(path)
    assert cfg.model.decode_head.type == HEADS[name.split('_')[0]]
    assert cfg.model.decode_head.num_classes == 6
    assert cfg.model.decode_head.loss_decode == \
        lanet.model.decode_head.loss_decode
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'val_evaluator', 'test_evaluator', 'optim_wrapper',
                'param_scheduler', 'train_cfg', 'custom_imports'):
        assert cfg[key] == lanet[key], key
    assert cfg.model.data_preprocessor == lanet.model.data_preprocessor
    assert cfg.model.test_cfg == lanet.model.test_cfg
    stride = name.split('_')[1].split('-')[1]
    assert cfg.model.backbone.strides == STRIDES[stride]
    backbone = {k: v for k, v in cfg.model.backbone.items()
                if k not in ('strides', 'dilations')}
    assert backbone == {k: v for k, v in lanet.model.backbone.items()
                        if k not in ('strides', 'dilations')}
    if stride == 'd8':
        assert cfg.model.auxiliary_head.in_index == 2
    else:
        assert 'auxiliary_head' not in cfg.model
        assert cfg.model.backbone == lanet.model.backbone


@pytest.mark.parametrize('path', [p for p in CONFIGS if 'r50-d8' not in p],
                         ids=name_of)
def test_full_size_model_builds(path):
    """The full model builds, and its head takes the last ResNet-50 stage."""
    model = build_segmentor(path)
    head = model.decode_head
    assert head.in_channels == 2048 and head.in_index == 3
    assert head.num_classes == 6


@pytest.mark.parametrize('path', CONFIGS, ids=name_of)
def test_trains_two_iterations_and_evaluates(path, sample_data_root,
                                            tmp_path):
    cfg = shrink_model(
        small_run(path, sample_data_root, tmp_path, validate=True))
    cfg.train_cfg.update(max_iters=2, val_interval=2)
    cfg.param_scheduler[0].end = 2
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert torch.isfinite(torch.tensor(loss))
    scalars = runner.message_hub.log_scalars
    assert 0 <= scalars['val/OA'].current() <= 100
    assert 'val/mIoU' in scalars


def test_metafile_model_index_and_readme_list_every_config():
    check_model_index('compare')
