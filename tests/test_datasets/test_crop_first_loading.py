"""Crop-first training loading: the same arrays as whole-tile loading for
the same seed, the whole tile's height statistics, the old layout still
loading (with one warning) and its resumable rewrite, and bad input named.
"""
import json
import os
import os.path as osp
import warnings

import numpy as np
import pytest
import tifffile
import torch
from mmengine.config import Config

from mmseg.registry import DATASETS, TRANSFORMS
from mmseg_lanet.datasets import isprs_multiband
from mmseg_lanet.datasets.converters import rewrite
from mmseg_lanet.datasets.converters.cli import rewrite_main
from mmseg_lanet.datasets.raster_io import (is_windowed, read_raster,
                                            write_raster)
from benchmarks.loading_benchmark import generate_tile, whole_tile_pipeline

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'lanet')
CONFIGS = dict(
    potsdam=osp.join(CONFIG_DIR,
                     'lanet_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512.py'),
    vaihingen=osp.join(
        CONFIG_DIR, 'lanet_r50-d16_1xb8-80k_vaihingen-irrg-dsm-512x512.py'))
FILE_BANDS = dict(potsdam=4, vaihingen=3)
SIZE, CROP = 96, (24, 24)


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(isprs_multiband, '_WARNED_ROOTS', set())


def layout_warnings(record):
    return [str(w.message) for w in record
            if 'windowed layout' in str(w.message)]


def config_pipeline(name, crop=CROP):
    """The shipped config's training pipeline, with a small crop."""
    cfg = Config.fromfile(CONFIGS[name])
    return cfg, [dict(step, crop_size=crop)
                 if step['type'] == 'LoadMultiBandCrop' else step
                 for step in cfg.train_dataloader.dataset.pipeline]


def train_dataset(cfg, root, pipeline, **kwargs):
    dataset = dict(cfg.train_dataloader.dataset, data_root=str(root),
                   pipeline=pipeline, **kwargs)
    return DATASETS.build(dataset)


@pytest.mark.parametrize('name,byte_order', [('potsdam', 'native'),
                                              ('vaihingen', 'native'),
                                              ('potsdam', 'big-endian')])
def test_crop_first_equals_whole_tile_loading_for_the_same_seed(
        tmp_path, name, byte_order):
    generate_tile(str(tmp_path), SIZE, FILE_BANDS[name], seed=1)
    cfg, crop_first = config_pipeline(name)
    options = {}
    if byte_order == 'big-endian':
        # A big-endian uint16 image (windowed layout) without heights: its
        # crop reaches PackSegInputs as read, which refuses non-native
        # byte order.
        path = str(tmp_path / 'img_dir' / 'train' / 'bench.tif')
        tifffile.imwrite(path, read_raster(path).astype('>u2'),
                         byteorder='>', photometric='minisblack',
                         planarconfig='contig')
        assert is_windowed(path)
        crop_first = [step for step in crop_first
                      if step['type'] != 'NormalizeDSM']
        options = dict(bands=('R', 'G', 'B', 'NIR'))
    whole = whole_tile_pipeline(crop_first)
    steps = ['LoadMultiBandImageFromFile', 'LoadISPRSAnnotations',
             'NormalizeDSM', 'RandomCrop']
    if options:
        steps.remove('NormalizeDSM')
    assert [step['type'] for step in whole[:len(steps)]] == steps
    assert whole[len(steps) - 1]['cat_max_ratio'] == 0.75
    fast = train_dataset(cfg, tmp_path, crop_first, **options)
    slow = train_dataset(cfg, tmp_path, whole, **options)
    bands = 5 if name == 'potsdam' and not options else 4
    for seed in range(12):
        np.random.seed(seed)
        a = fast[0]
        np.random.seed(seed)
        b = slow[0]
        assert a['inputs'].shape == (bands, ) + CROP
        assert torch.equal(a['inputs'], b['inputs'])
        assert torch.equal(a['data_samples'].gt_sem_seg.data,
                           b['data_samples'].gt_sem_seg.data)
        assert a['data_samples'].ori_shape == (SIZE, SIZE)


def test_cat_max_ratio_redraws_on_the_window_labels(tmp_path):
    """32 px blocks of one class and 24 px crops: many first draws hold one
    class and must be drawn again, as MMSeg's RandomCrop does."""
    generate_tile(str(tmp_path), SIZE, 4, seed=1)
    cfg, _ = config_pipeline('potsdam')
    dataset = train_dataset(cfg, tmp_path, [])
    load = TRANSFORMS.build(
        dict(type='LoadMultiBandCrop', crop_size=CROP, cat_max_ratio=0.75))
    labels = read_raster(dataset[0]['seg_map_path'])
    redrawn = 0
    for seed in range(20):
        np.random.seed(seed)
        first = (np.random.randint(0, SIZE - CROP[0] + 1),
                 np.random.randint(0, SIZE - CROP[1] + 1))
        np.random.seed(seed)
        results = load(dataset[0])
        row, col, height, width = results['crop_window']
        window = labels[row:row + height, col:col + width]
        np.testing.assert_array_equal(results['gt_seg_map'], window)
        if (row, col) != first:
            redrawn += 1
            counts = np.bincount(window[window != 255].ravel())
            counts = counts[counts > 0]
            assert len(counts) > 1 and counts.max() / counts.sum() < 0.75
    assert redrawn > 0


def test_per_tile_statistics_are_the_whole_tiles(tmp_path):
    generate_tile(str(tmp_path), SIZE, 3, seed=2)
    cfg, _ = config_pipeline('vaihingen')
    pipeline = [dict(type='LoadMultiBandCrop', crop_size=CROP),
                dict(type='NormalizeDSM', mode='per_tile')]
    dataset = train_dataset(cfg, tmp_path, pipeline)
    info = dataset.get_data_info(0)
    heights = read_raster(info['dsm_path']).astype(np.float64)
    # From conversion.json, not from the pixels.
    assert info['dsm_stats'] == (SIZE * SIZE, pytest.approx(heights.sum()),
                                 pytest.approx(np.square(heights).sum()))
    np.random.seed(0)
    sample = dataset[0]
    row, col, height, width = sample['crop_window']
    window = heights[row:row + height, col:col + width]
    np.testing.assert_allclose(
        sample['img'][..., 3], (window - heights.mean()) / heights.std(),
        rtol=1e-5, atol=1e-5)
    # Per-window statistics would differ.
    assert not np.allclose(sample['img'][..., 3],
                           (window - window.mean()) / window.std(),
                           atol=1e-3)


def test_old_layout_loads_with_one_warning_naming_the_rewrite(tmp_path):
    generate_tile(str(tmp_path / 'new'), SIZE, 4, seed=3)
    generate_tile(str(tmp_path / 'old'), SIZE, 4, seed=3,
                  layout='whole_tile')
    assert osp.isfile(tmp_path / 'old' / 'ann_eroded_dir' / 'train' /
                      'bench.png')
    cfg, pipeline = config_pipeline('potsdam')
    with pytest.warns(UserWarning) as record:
        old = train_dataset(cfg, tmp_path / 'old', pipeline)
        train_dataset(cfg, tmp_path / 'old', pipeline)  # no second warning
    messages = layout_warnings(record)
    assert len(messages) == 1
    assert ('python tools/dataset_converters/rewrite_layout.py '
            f'{tmp_path / "old"}') in messages[0]
    assert 'bench.png' in messages[0]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        new = train_dataset(cfg, tmp_path / 'new', pipeline)
    assert not layout_warnings(record)
    for seed in range(3):
        np.random.seed(seed)
        a = old[0]
        np.random.seed(seed)
        b = new[0]
        assert torch.equal(a['inputs'], b['inputs'])
        assert torch.equal(a['data_samples'].gt_sem_seg.data,
                           b['data_samples'].gt_sem_seg.data)


def label_files(root):
    return sorted(
        osp.relpath(osp.join(folder, f), root)
        for folder, _, files in os.walk(root) for f in files
        if f.endswith(('.png', '.tif')) and 'ann' in folder)


def test_interrupted_rewrite_leaves_every_tile_readable_and_resumes(
        tmp_path, monkeypatch):
    root = str(tmp_path)
    generate_tile(root, 40, 4, name='a', seed=4, layout='whole_tile')
    generate_tile(root, 40, 4, name='b', seed=5, layout='whole_tile')
    originals = {f: read_raster(osp.join(root, f)) for f in label_files(root)}
    assert len(originals) == 4 and all(f.endswith('.png') for f in originals)
    cfg, _ = config_pipeline('potsdam')
    load_labels = [dict(type='LoadMultiBandImageFromFile'),
                   dict(type='LoadISPRSAnnotations')]

    def check_readable():
        for folder in ('ann_dir', 'ann_eroded_dir'):
            dataset = train_dataset(
                cfg, root, load_labels,
                data_prefix=dict(img_path='img_dir/train',
                                 dsm_path='dsm_dir/train',
                                 seg_map_path=f'{folder}/train'))
            for index, name in enumerate(('a', 'b')):
                np.testing.assert_array_equal(
                    dataset[index]['gt_seg_map'],
                    originals[osp.join(folder, 'train', name + '.png')])

    # 1. Killed while writing the third file (tile b's first label).
    calls = []

    def failing_write(path, array):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt('interrupted')
        write_raster(path, array)

    monkeypatch.setattr(rewrite, 'write_raster', failing_write)
    with pytest.raises(KeyboardInterrupt):
        rewrite.rewrite_layout(root, progress=False)
    check_readable()
    # 2. Killed after the manifest names the new files, before the old
    # ones are removed.
    monkeypatch.setattr(rewrite, 'write_raster', write_raster)

    def failing_remove(path):
        raise KeyboardInterrupt('interrupted')

    monkeypatch.setattr(rewrite.os, 'remove', failing_remove)
    with pytest.raises(KeyboardInterrupt):
        rewrite.rewrite_layout(root, progress=False)
    check_readable()
    monkeypatch.undo()
    monkeypatch.setattr(isprs_multiband, '_WARNED_ROOTS', set())
    # 3. A rerun finishes the job.
    summary = rewrite_main([root, '--no-progress'])
    assert summary['removed'] == 2  # tile a's went in the first run
    assert all(f.endswith('.tif') for f in label_files(root))
    assert len(label_files(root)) == 4
    for name, array in originals.items():
        path = osp.join(root, name[:-4] + '.tif')
        assert is_windowed(path)
        np.testing.assert_array_equal(read_raster(path), array)
    with open(osp.join(root, 'conversion.json')) as f:
        manifest = json.load(f)
    assert manifest['layout'] == 'windowed'
    img = read_raster(osp.join(root, 'img_dir', 'train', 'a.tif'))
    record = manifest['tiles']['a']
    assert record['img_sum'] == img.reshape(-1, 4).sum(axis=0).tolist()
    assert all(f.endswith('.tif') for f in record['files'])
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        train_dataset(cfg, root, [])
    assert not layout_warnings(record)
    # Nothing left to do.
    assert rewrite.rewrite_layout(root, progress=False) == dict(
        rewritten=0, removed=0, statistics=0)


def test_file_sizes_differing_name_the_three_files(tmp_path):
    generate_tile(str(tmp_path), SIZE, 4)
    write_raster(str(tmp_path / 'dsm_dir' / 'train' / 'bench.tif'),
                 np.zeros((SIZE, SIZE - 1), np.float32))
    cfg, pipeline = config_pipeline('potsdam')
    with pytest.raises(ValueError, match=(
            r'the files of one sample differ in size:\n'
            r'  96 x 96: .*img_dir/train/bench.tif\n'
            r'  96 x 95: .*dsm_dir/train/bench.tif\n'
            r'  96 x 96: .*ann_eroded_dir/train/bench.tif')):
        train_dataset(cfg, tmp_path, pipeline)


@pytest.mark.parametrize('content', ['truncated', 'text'])
def test_bad_image_file_is_named_at_build_time(tmp_path, content):
    generate_tile(str(tmp_path), SIZE, 4)
    path = tmp_path / 'img_dir' / 'train' / 'bench.tif'
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 3] if content == 'truncated' else
                     b'<html>not found</html>')
    message = ('truncated TIFF' if content == 'truncated' else
               'cannot be read as a TIFF')
    cfg, pipeline = config_pipeline('potsdam')
    with pytest.raises(ValueError,
                       match=rf'img_dir/train/bench.tif: {message}'):
        train_dataset(cfg, tmp_path, pipeline)


def test_tile_missing_from_the_manifest_is_named(tmp_path):
    generate_tile(str(tmp_path), SIZE, 3, name='area1')
    generate_tile(str(tmp_path), SIZE, 3, name='area3')
    manifest_path = tmp_path / 'conversion.json'
    manifest = json.loads(manifest_path.read_text())
    del manifest['tiles']['area3']
    manifest_path.write_text(json.dumps(manifest))
    cfg, pipeline = config_pipeline('vaihingen')  # per-tile heights
    dataset = train_dataset(cfg, tmp_path, pipeline)
    dataset[0]
    with pytest.raises(ValueError, match=(
            r'area3.tif: NormalizeDSM\(mode=\'per_tile\'\) sees a \(24, 24\) '
            r'crop of a \(96, 96\) tile without the whole tile\'s statistics '
            r'\(img_dir/train/area3.tif is not recorded in .*'
            r'conversion.json\)')):
        dataset[1]


def test_crop_larger_than_the_tile_names_both_sizes(tmp_path):
    generate_tile(str(tmp_path), SIZE, 4)
    cfg, pipeline = config_pipeline('potsdam', crop=(128, 64))
    with pytest.raises(ValueError, match=(
            r'img_dir/train/bench.tif: the tile is 96 x 96 px, smaller than '
            r'the crop size 128 x 64')):
        train_dataset(cfg, tmp_path, pipeline)[0]
