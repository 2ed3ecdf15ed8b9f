"""The synthetic sample: official archive layout, sensible content,
determinism, and the real converter run on it."""
import os.path as osp
import zipfile

import numpy as np
import pytest
from mmengine.config import Config

from mmseg_lanet.datasets.converters import (dsm_statistics,
                                             optical_statistics)
from mmseg_lanet.datasets.raster_io import read_raster
from mmseg_lanet.datasets.synthetic import (BUILDING, CAR, IMPERVIOUS,
                                            LOW_VEGETATION, TREE,
                                            eroded_boundary, generate_scene,
                                            make_sample_data)


def test_sample_archives_have_the_official_layout_and_convert(tmp_path):
    for dataset in ('potsdam', 'vaihingen'):
        make_sample_data(dataset, str(tmp_path), progress=False)

    archives = tmp_path / 'archives'
    assert sorted(p.name for p in (archives / 'potsdam').glob('*.zip')) == [
        '1_DSM.zip', '1_DSM_normalisation.zip', '2_Ortho_RGB.zip',
        '3_Ortho_IRRG.zip', '4_Ortho_RGBIR.zip', '5_Labels_all.zip',
        '5_Labels_all_noBoundary.zip']
    with zipfile.ZipFile(archives / 'potsdam' / '4_Ortho_RGBIR.zip') as zf:
        assert '4_Ortho_RGBIR/top_potsdam_2_10_RGBIR.tif' in zf.namelist()
    with zipfile.ZipFile(archives / 'potsdam' /
                         '1_DSM_normalisation.zip') as zf:
        assert ('1_DSM_normalisation/dsm_potsdam_06_07_normalized_lastools'
                '.jpg') in zf.namelist()
    with zipfile.ZipFile(archives / 'potsdam' /
                         '5_Labels_all_noBoundary.zip') as zf:
        assert 'top_potsdam_2_13_label_noBoundary.tif' in zf.namelist()
    with zipfile.ZipFile(archives / 'vaihingen' /
                         'ISPRS_semantic_labeling_Vaihingen.zip') as zf:
        names = zf.namelist()
    assert {'top/top_mosaic_09cm_area1.tif',
            'dsm/dsm_09cm_matching_area1.tif',
            'gts_for_participants/top_mosaic_09cm_area1.tif'} <= set(names)

    potsdam = tmp_path / 'potsdam'
    train = sorted(p.stem for p in (potsdam / 'img_dir' / 'train').iterdir())
    val = sorted(p.stem for p in (potsdam / 'img_dir' / 'val').iterdir())
    assert train == ['2_10', '3_11', '4_12', '6_7', '7_8']
    assert val == ['2_13', '4_14', '6_15']
    img = read_raster(str(potsdam / 'img_dir' / 'train' / '2_10.tif'))
    assert img.shape == (320, 320, 4) and img.dtype == np.uint8
    vaihingen_img = read_raster(
        str(tmp_path / 'vaihingen' / 'img_dir' / 'train' / 'area1.tif'))
    assert vaihingen_img.shape == (320, 288, 3)

    # Like the real 4_12 and 6_7, two label tiles carry off-palette colours.
    manifest = make_sample_data('potsdam', str(tmp_path), progress=False)
    assert manifest['run']['written'] == []  # resumed: nothing to redo
    off = {t: r['colours']['labels']['off_palette']
           for t, r in manifest['tiles'].items()}
    assert off['4_12'] > 0 and off['6_7'] > 0 and off['2_10'] == 0

    # The sample config's statistics are those the converter records.
    cfg = Config.fromfile(osp.join(
        osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets',
        'sample_potsdam_rgbir_dsm.py'))
    means, stds = optical_statistics(manifest)
    np.testing.assert_allclose(cfg.band_mean, means + [0.0], atol=0.005)
    np.testing.assert_allclose(cfg.band_std, stds + [1.0], atol=0.005)
    np.testing.assert_allclose((cfg.dsm_mean, cfg.dsm_std),
                               dsm_statistics(manifest), atol=5e-5)


def test_sample_is_deterministic_per_seed(tmp_path):
    for name, seed in (('a', 0), ('b', 0), ('c', 1)):
        make_sample_data('vaihingen', str(tmp_path / name), seed=seed,
                         progress=False)

    def tile(root):
        return read_raster(
            str(tmp_path / root / 'vaihingen' / 'img_dir' / 'val' /
                'area2.tif'))

    np.testing.assert_array_equal(tile('a'), tile('b'))
    assert not np.array_equal(tile('a'), tile('c'))
    with pytest.raises(FileExistsError, match='other sample archives'):
        make_sample_data('vaihingen', str(tmp_path / 'a'), seed=1,
                         progress=False)


def test_scene_heights_and_spectra_make_sense_for_the_classes():
    scene = generate_scene(256, 256, np.random.default_rng(3))
    labels, ndsm = scene.labels, scene.ndsm
    nir = scene.reflectance[..., 3].astype(float)
    assert set(np.unique(labels)) >= {IMPERVIOUS, BUILDING, LOW_VEGETATION,
                                      TREE, CAR}
    assert ndsm[labels == BUILDING].min() >= 6
    assert ndsm[labels == IMPERVIOUS].max() == 0
    assert ndsm[labels == LOW_VEGETATION].max() <= 0.3
    assert np.median(ndsm[labels == TREE]) > 3
    assert 1.3 <= ndsm[labels == CAR].min() <= ndsm[labels == CAR].max() <= 1.8
    assert nir[labels == TREE].mean() > nir[labels == LOW_VEGETATION].mean() \
        > nir[labels == IMPERVIOUS].mean() > nir[labels == BUILDING].mean()


def test_eroded_boundary_is_a_disc_of_radius_3():
    labels = np.zeros((20, 20), np.uint8)
    labels[:, 10:] = 1
    boundary = eroded_boundary(labels)
    # Boundary pixels are columns 9 and 10; a radius-3 disc reaches 6-13.
    assert boundary.all(axis=0).tolist() == [c in range(6, 14)
                                             for c in range(20)]
    single = np.zeros((21, 21), np.uint8)
    single[10, 10] = 1
    disc = eroded_boundary(single)
    # The pixel and its 4 neighbours (rows/columns 9-11) are boundary;
    # dilated by radius 3 they reach 6-14 along row and column 10.
    assert disc[10].tolist() == [c in range(6, 15) for c in range(21)]
    assert disc[:, 10].tolist() == [r in range(6, 15) for r in range(21)]
