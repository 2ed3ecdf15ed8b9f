"""What every shipped config reads: label folders per split, crop-first
training, height and optical normalisation (configs/lanet, configs/sample).
"""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

ROOT = osp.join(osp.dirname(__file__), '..', '..', 'configs')
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'lanet', '*.py')) +
                 glob.glob(osp.join(ROOT, 'sample', '*.py')))


def name_of(path):
    return osp.basename(path)[:-3]


def steps(pipeline, kind):
    return [step for step in pipeline if step['type'] == kind]


def test_every_shipped_config_is_listed():
    assert len(CONFIGS) == 19  # 18 LANet rows and backbones, 1 sample
    assert sum('sample' in p for p in CONFIGS) == 1


@pytest.mark.parametrize('path', CONFIGS, ids=name_of)
def test_label_folders_loading_and_normalisation(path):
    cfg = Config.fromfile(path)
    # The authors' setting: train on the eroded (noBoundary) reference;
    # evaluate on the eroded reference (ISPRS convention).
    assert cfg.train_dataloader.dataset.data_prefix == dict(
        img_path='img_dir/train', dsm_path='dsm_dir/train',
        seg_map_path='ann_eroded_dir/train')
    for split in ('val_dataloader', 'test_dataloader'):
        assert cfg[split].dataset.data_prefix == dict(
            img_path='img_dir/val', dsm_path='dsm_dir/val',
            seg_map_path='ann_eroded_dir/val')
    # The full reference is a one-line option.
    cfg.merge_from_dict(dict(train_dataloader=dict(dataset=dict(
        data_prefix=dict(seg_map_path='ann_dir/train')))))
    assert cfg.train_dataloader.dataset.data_prefix == dict(
        img_path='img_dir/train', dsm_path='dsm_dir/train',
        seg_map_path='ann_dir/train')

    # Crop-first training, whole-tile testing, height normalisation.
    train = cfg.train_dataloader.dataset.pipeline
    assert [step['type'] for step in train[:2]] == [
        'LoadMultiBandCrop', 'NormalizeDSM']
    assert train[0]['cat_max_ratio'] == 0.75
    assert train[0]['crop_size'] == tuple(cfg.crop_size)
    assert not steps(train, 'RandomCrop') + steps(
        train, 'LoadMultiBandImageFromFile')
    # Validation and test: whole tiles.
    test = cfg.test_dataloader.dataset.pipeline
    assert test[0]['type'] == 'LoadMultiBandImageFromFile'
    assert not steps(test, 'RandomCrop')
    norms = [steps(p, 'NormalizeDSM')[0]
             for p in (train, test, cfg.val_dataloader.dataset.pipeline,
                       cfg.tta_pipeline)]
    if 'vaihingen' in path:
        # Absolute DSM: per tile (whole tile's statistics).
        assert all(n == dict(type='NormalizeDSM', mode='per_tile')
                   for n in norms)
    else:
        # nDSM (height above ground): fixed statistics.
        # The authors' values; the sample's from its converter (checked in
        # test_synthetic.py).
        expected = ((47.0, 55.0) if 'sample' not in path else
                    (21.1649, 46.8134))
        assert all(n['mode'] == 'global' and (n['mean'], n['std']) == expected
                   for n in norms)
    assert len(cfg.model.data_preprocessor.mean) == len(cfg.bands)
