"""Multi-band data sets and transforms: every band reaches the model, in
order; each bad file is an error that names it."""
import os.path as osp

import numpy as np
import pytest
import torch

from mmseg.models import SegDataPreProcessor
from mmseg.registry import DATASETS, TRANSFORMS
from mmseg_lanet.datasets.raster_io import write_raster

POTSDAM = dict(type='PotsdamMultiBandDataset', file_bands=4,
               bands=('R', 'G', 'B', 'NIR', 'nDSM'))
VAIHINGEN = dict(type='VaihingenMultiBandDataset', file_bands=3,
                 bands=('NIR', 'R', 'G', 'DSM'))


def write_converted(root, file_bands, size=(24, 32), seed=0, name='t1'):
    """A converted tile: optical file, heights, labels; returns them."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, size + (file_bands, ), np.uint8)
    dsm = rng.uniform(250, 270, size).astype(np.float32)
    labels = rng.integers(0, 6, size).astype(np.uint8)
    labels[0, :5] = 255
    write_raster(str(root / 'img_dir' / 'val' / f'{name}.tif'), img)
    write_raster(str(root / 'dsm_dir' / 'val' / f'{name}.tif'), dsm)
    write_raster(str(root / 'ann_dir' / 'val' / f'{name}.png'), labels)
    return img, dsm, labels


def build_dataset(root, spec, pipeline, **kwargs):
    return DATASETS.build(
        dict(
            type=spec['type'],
            data_root=str(root),
            data_prefix=dict(
                img_path='img_dir/val',
                dsm_path='dsm_dir/val',
                seg_map_path='ann_dir/val'),
            pipeline=pipeline,
            **kwargs))


TEST_PIPELINE = [
    dict(type='LoadMultiBandImageFromFile'),
    dict(type='NormalizeDSM', mode='per_tile'),
    dict(type='LoadISPRSAnnotations'),
    dict(type='PackSegInputs')
]


@pytest.mark.parametrize('spec', [POTSDAM, VAIHINGEN],
                         ids=['potsdam', 'vaihingen'])
def test_every_band_reaches_the_model_in_order(tmp_path, spec):
    img, dsm, labels = write_converted(tmp_path, spec['file_bands'])
    dataset = build_dataset(tmp_path, spec, TEST_PIPELINE)
    assert dataset.metainfo['bands'] == spec['bands']
    num_bands = len(spec['bands'])
    mean = np.arange(1, num_bands + 1) * 10.0
    std = np.arange(1, num_bands + 1) * 2.0
    preprocessor = SegDataPreProcessor(
        mean=mean.tolist(), std=std.tolist(), bgr_to_rgb=False)
    data = preprocessor(
        dict(inputs=[dataset[0]['inputs']],
             data_samples=[dataset[0]['data_samples']]))
    inputs = data['inputs'][0].numpy()
    assert inputs.shape == (num_bands, 24, 32)
    # Optical bands in file order, the height band last, standardised per
    # tile before the preprocessor's mean/std.
    expected = np.concatenate(
        [img.astype(np.float64),
         ((dsm - dsm.mean()) / dsm.std())[..., None]], axis=2)
    expected = (expected - mean) / std
    np.testing.assert_allclose(
        inputs, expected.transpose(2, 0, 1), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(
        data['data_samples'][0].gt_sem_seg.data[0].numpy(), labels)


def test_band_selection_and_order_follow_the_config(tmp_path):
    img, dsm, _ = write_converted(tmp_path, 4)
    dataset = build_dataset(
        tmp_path, POTSDAM, TEST_PIPELINE[:1], bands=('nDSM', 'NIR', 'R'))
    out = dataset[0]['img']
    assert out.shape == (24, 32, 3)
    np.testing.assert_array_equal(out[..., 0], dsm)
    np.testing.assert_array_equal(out[..., 1:], img[..., [3, 0]])
    rgb = build_dataset(tmp_path, POTSDAM, TEST_PIPELINE[:1],
                        bands=('R', 'G', 'B'))[0]['img']
    assert rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb, img[..., :3])


def test_training_pipeline_crops_and_flips_all_bands_with_the_labels(
        tmp_path):
    _, dsm, _ = write_converted(tmp_path, 4, size=(40, 40))
    # Labels that can be read back from the height band.
    labels = (np.arange(40)[:, None] * 40 + np.arange(40)) % 6
    write_raster(str(tmp_path / 'dsm_dir' / 'val' / 't1.tif'),
                 labels.astype(np.float32))
    write_raster(str(tmp_path / 'ann_dir' / 'val' / 't1.png'),
                 labels.astype(np.uint8))
    pipeline = [
        dict(type='LoadMultiBandImageFromFile'),
        dict(type='LoadISPRSAnnotations'),
        dict(type='NormalizeDSM', mode='global', mean=0.0, std=1.0),
        dict(type='RandomCrop', crop_size=(16, 16)),
        dict(type='RandomFlip', prob=1.0, direction='vertical'),
        dict(type='BandAwarePhotoMetricDistortion'),
        dict(type='PackSegInputs')
    ]
    dataset = build_dataset(tmp_path, POTSDAM, pipeline)
    np.random.seed(0)
    for _ in range(5):
        sample = dataset[0]
        assert sample['inputs'].shape == (5, 16, 16)
        np.testing.assert_array_equal(
            sample['inputs'][4].numpy(),
            sample['data_samples'].gt_sem_seg.data[0].numpy())


@pytest.mark.parametrize('mode', ['per_tile', 'global'])
def test_normalize_dsm(mode):
    img = np.zeros((4, 5, 3), np.float32)
    img[..., 2] = np.arange(20).reshape(4, 5) + 250
    img[..., 0] = 7
    results = dict(img=img.copy(), band_names=('NIR', 'R', 'DSM'),
                   img_shape=(4, 5), ori_shape=(4, 5))
    kwargs = dict(mean=255.0, std=2.0) if mode == 'global' else {}
    out = TRANSFORMS.build(dict(type='NormalizeDSM', mode=mode,
                                **kwargs))(results)['img']
    heights = np.arange(20).reshape(4, 5) + 250.0
    expected = ((heights - heights.mean()) / heights.std()
                if mode == 'per_tile' else (heights - 255) / 2)
    np.testing.assert_allclose(out[..., 2], expected, rtol=1e-6)
    np.testing.assert_array_equal(out[..., :2], img[..., :2])
    # An array without band names (inference on an ndarray): by index.
    by_index = TRANSFORMS.build(
        dict(type='NormalizeDSM', mode=mode, band_index=-1, **kwargs))(
            dict(img=img.copy(), img_shape=(4, 5), ori_shape=(4, 5)))['img']
    np.testing.assert_array_equal(by_index, out)


def test_normalize_dsm_errors():
    with pytest.raises(ValueError, match="mode='global' needs mean and a "
                       'positive std'):
        TRANSFORMS.build(dict(type='NormalizeDSM', mode='global'))
    transform = TRANSFORMS.build(dict(type='NormalizeDSM'))
    cropped = dict(img=np.zeros((4, 4, 2), np.float32), img_path='x.tif',
                   band_names=('R', 'DSM'), img_shape=(4, 4),
                   ori_shape=(8, 8))
    with pytest.raises(ValueError, match=r'x.tif: .* crop of a \(8, 8\) '
                       r"tile without the whole tile's statistics \(no "
                       r'dsm_stats in the sample\); put it before any crop'):
        transform(cropped)
    # With the whole tile's statistics (count, sum, sum of squares) the
    # crop is standardised by them.
    heights = np.arange(64, dtype=np.float64).reshape(8, 8)
    crop = dict(cropped, img=np.stack([np.zeros((4, 4)), heights[2:6, 1:5]],
                                      axis=2).astype(np.float32),
                dsm_stats=(64, heights.sum(), np.square(heights).sum()))
    np.testing.assert_allclose(
        transform(crop)['img'][..., 1],
        (heights[2:6, 1:5] - heights.mean()) / heights.std(), rtol=1e-6)
    with pytest.raises(ValueError, match=r"needs exactly one height band "
                       r"\(DSM or nDSM\) in band_names, got \('R', 'G'\)"):
        transform(dict(cropped, band_names=('R', 'G'), ori_shape=(4, 4)))


def photometric_results(names, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.uniform(40, 200, (8, 8, len(names))).astype(np.float32)
    return dict(img=img, band_names=names)


def always_apply(monkeypatch):
    """Every random step applied; uniform() draws its upper bound."""
    from mmseg_lanet.datasets.transforms import photometric
    monkeypatch.setattr(photometric.random, 'randint',
                        lambda low, high=None: 1 if high is None else 0)
    monkeypatch.setattr(photometric.random, 'uniform', lambda low, high: high)


def distortion(**kwargs):
    """BandAwarePhotoMetricDistortion that changes nothing but ``kwargs``."""
    cfg = dict(type='BandAwarePhotoMetricDistortion', brightness_delta=0,
               contrast_range=(1.0, 1.0), saturation_range=(1.0, 1.0),
               hue_delta=0)
    return TRANSFORMS.build(dict(cfg, **kwargs))


def test_photometric_distortion_touches_optical_bands_only(monkeypatch):
    always_apply(monkeypatch)
    transform = distortion(brightness_delta=10)
    for names in (('R', 'G', 'B', 'NIR', 'nDSM'), ('NIR', 'R', 'G', 'DSM')):
        results = photometric_results(names)
        before = results['img'].copy()
        after = transform(results)['img']
        # Brightness +10 on every optical band, heights untouched.
        np.testing.assert_allclose(after[..., :-1], before[..., :-1] + 10,
                                   atol=1e-3)
        np.testing.assert_array_equal(after[..., -1], before[..., -1])


def test_photometric_saturation_needs_rgb(monkeypatch):
    always_apply(monkeypatch)
    transform = distortion(saturation_range=(0.0, 0.0))
    results = photometric_results(('R', 'G', 'B', 'NIR', 'nDSM'))
    before = results['img'].copy()
    after = transform(results)['img']
    # Saturation 0 turns R, G, B grey (each = max of R, G, B); NIR and the
    # height band keep their values.
    grey = before[..., :3].max(axis=2)
    for band in range(3):
        np.testing.assert_allclose(after[..., band], grey, atol=1e-3)
    np.testing.assert_array_equal(after[..., 3:], before[..., 3:])
    # A false-colour NIR-R-G image has no R, G, B: no saturation change.
    results = photometric_results(('NIR', 'R', 'G', 'DSM'))
    before = results['img'].copy()
    np.testing.assert_allclose(transform(results)['img'], before, atol=1e-3)


def test_photometric_contrast_scales_optical_bands_and_clips(monkeypatch):
    always_apply(monkeypatch)
    results = photometric_results(('R', 'G', 'B', 'NIR', 'nDSM'))
    before = results['img'].copy()
    after = distortion(contrast_range=(0.5, 1.5))(results)['img']
    # uniform() draws its upper bound: factor 1.5, then clipped to 255.
    np.testing.assert_allclose(after[..., :4],
                               np.minimum(before[..., :4] * 1.5, 255),
                               rtol=1e-6)
    assert (after[..., :4] == 255).any() and (after[..., :4] < 255).any()
    np.testing.assert_array_equal(after[..., 4], before[..., 4])


def test_photometric_hue_rotates_rgb_only(monkeypatch):
    always_apply(monkeypatch)
    # randint(low, high) draws its largest value: the hue shift is
    # +2 * hue_delta degrees, here 120: (R, G, B) becomes (B, R, G).
    from mmseg_lanet.datasets.transforms import photometric
    monkeypatch.setattr(photometric.random, 'randint',
                        lambda low, high=None: 1 if high is None else high - 1)
    transform = distortion(hue_delta=60)
    results = photometric_results(('R', 'G', 'B', 'NIR', 'nDSM'))
    before = results['img'].copy()
    after = transform(results)['img']
    np.testing.assert_allclose(after[..., :3], before[..., [2, 0, 1]],
                               atol=1e-3)
    np.testing.assert_array_equal(after[..., 3:], before[..., 3:])
    # A smaller shift changes the colours without permuting the bands,
    # and keeps each pixel's max and min (hue leaves S and V alone).
    after = distortion(hue_delta=10)(photometric_results(
        ('R', 'G', 'B', 'NIR', 'nDSM')))['img']
    assert np.abs(after[..., :3] - before[..., :3]).max() > 5
    np.testing.assert_allclose(after[..., :3].max(2), before[..., :3].max(2),
                               atol=1e-3)
    np.testing.assert_allclose(after[..., :3].min(2), before[..., :3].min(2),
                               atol=1e-3)
    # False colour (NIR, R, G): no hue.
    results = photometric_results(('NIR', 'R', 'G', 'DSM'))
    before = results['img'].copy()
    np.testing.assert_allclose(transform(results)['img'], before, atol=1e-3)


def test_wrong_band_count_names_the_file(tmp_path):
    write_converted(tmp_path, 3)  # a 3-band file where Potsdam has 4
    dataset = build_dataset(tmp_path, POTSDAM, TEST_PIPELINE)
    with pytest.raises(ValueError, match=r'img_dir/val/t1.tif: has 3 '
                       r'band\(s\), expected 4 \(R, G, B, NIR\)'):
        dataset[0]


@pytest.mark.parametrize('path, array, message', [
    ('dsm_dir/val/t1.tif', np.zeros((24, 31), np.float32),
     r'dsm_dir/val/t1.tif: height map is \(24, 31\), its image is '
     r'\(24, 32\)'),
    ('ann_dir/val/t1.png', np.zeros((23, 32), np.uint8),
     r'ann_dir/val/t1.png: label map is \(23, 32\), its image .*t1.tif is '
     r'\(24, 32\)'),
], ids=['dsm', 'labels'])
def test_size_mismatches_name_the_file(tmp_path, path, array, message):
    write_converted(tmp_path, 4)
    write_raster(str(tmp_path / path), array)
    # The data set finds it at build time, from the headers.
    height, width = array.shape
    with pytest.raises(ValueError) as error:
        build_dataset(tmp_path, POTSDAM, TEST_PIPELINE)
    listing = str(error.value).split('\n')
    assert listing[0].endswith('the files of one sample differ in size:')
    expected = {'img_dir/val/t1.tif': (24, 32), 'dsm_dir/val/t1.tif': (24, 32),
                'ann_dir/val/t1.png': (24, 32), path: (height, width)}
    assert [line.split(': ')[0].strip() for line in listing[1:]] == [
        f'{h} x {w}' for h, w in expected.values()]
    assert [line.split(': ')[1].endswith(name)
            for line, name in zip(listing[1:], expected)] == [True] * 3
    # The loaders check it too, for samples not built by the data set.
    results = dict(
        img_path=str(tmp_path / 'img_dir/val/t1.tif'),
        dsm_path=str(tmp_path / 'dsm_dir/val/t1.tif'),
        seg_map_path=str(tmp_path / 'ann_dir/val/t1.png'),
        band_names=POTSDAM['bands'], file_band_names=('R', 'G', 'B', 'NIR'),
        band_indices=[0, 1, 2, 3], num_classes=6, seg_fields=[])
    with pytest.raises(ValueError, match=message):
        for step in TEST_PIPELINE[:1] + [TEST_PIPELINE[2]]:
            results = TRANSFORMS.build(step)(results)


def test_bad_label_values_and_heights_name_the_file(tmp_path):
    _, dsm, labels = write_converted(tmp_path, 4)
    labels[3, 3], labels[4, 4] = 6, 200
    write_raster(str(tmp_path / 'ann_dir' / 'val' / 't1.png'), labels)
    with pytest.raises(ValueError, match=r'ann_dir/val/t1.png: label values '
                       r'\[  6 200\] are neither a class index \(0..5\) nor '
                       'the ignore index 255'):
        build_dataset(tmp_path, POTSDAM, TEST_PIPELINE)[0]
    dsm[2, 2] = np.nan
    write_raster(str(tmp_path / 'dsm_dir' / 'val' / 't1.tif'), dsm)
    with pytest.raises(ValueError, match='dsm_dir/val/t1.tif: 1 non-finite'):
        build_dataset(tmp_path, POTSDAM, TEST_PIPELINE)[0]


def test_dataset_init_errors(tmp_path):
    write_converted(tmp_path, 4, name='t1')
    write_converted(tmp_path, 4, name='t2')
    (tmp_path / 'dsm_dir' / 'val' / 't2.tif').unlink()
    with pytest.raises(FileNotFoundError, match=r'1 file\(s\) missing:\n  '
                       r'.*dsm_dir/val/t2.tif'):
        build_dataset(tmp_path, POTSDAM, [])
    with pytest.raises(ValueError, match=r"unknown band\(s\) \['IR'\]"):
        build_dataset(tmp_path, POTSDAM, [], bands=('R', 'IR'))
    with pytest.raises(ValueError, match='reduce_zero_label=True would turn '
                       'class 0'):
        build_dataset(tmp_path, POTSDAM, [], reduce_zero_label=True)
    with pytest.raises(FileNotFoundError, match="no '.tif' images in"):
        DATASETS.build(
            dict(type='VaihingenMultiBandDataset', data_root=str(tmp_path),
                 data_prefix=dict(img_path='ann_dir/val',
                                  dsm_path='dsm_dir/val')))


def test_numpy_files_keep_every_band(tmp_path):
    array = np.random.default_rng(0).random((6, 7, 5)).astype(np.float32)
    np.save(tmp_path / 'x.npy', array)
    out = TRANSFORMS.build(
        dict(type='LoadMultiBandImageFromFile', num_bands=5))(
            dict(img_path=str(tmp_path / 'x.npy')))
    np.testing.assert_array_equal(out['img'], array)
    with pytest.raises(ValueError, match=r'x.npy: loaded 5 band\(s\), the '
                       'config expects 4'):
        TRANSFORMS.build(
            dict(type='LoadMultiBandImageFromFile', num_bands=4))(
                dict(img_path=str(tmp_path / 'x.npy')))


def test_dataset_configs_build(tmp_path):
    from mmengine.config import Config
    write_converted(tmp_path, 4)
    cfg = Config.fromfile(
        osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_',
                 'datasets', 'isprs_potsdam_rgbir_dsm.py'))
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.update(
        data_root=str(tmp_path),
        data_prefix=dict(img_path='img_dir/val', dsm_path='dsm_dir/val',
                         seg_map_path='ann_dir/val'))
    sample = DATASETS.build(dataset_cfg)[0]
    assert sample['inputs'].shape == (5, 24, 32)
    assert len(cfg.band_mean) == len(cfg.band_std) == len(cfg.bands) == 5
    assert cfg.test_evaluator.type == 'ISPRSMetric'
    assert torch.is_tensor(sample['inputs'])
