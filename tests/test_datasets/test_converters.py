"""The converters on small fake archives with the official structure."""
import json
import os
import zipfile

import cv2
import numpy as np
import pytest
import tifffile

from mmseg_lanet.datasets.converters import (POTSDAM_LAYOUT, VAIHINGEN_LAYOUT,
                                             convert_dataset, format_summary,
                                             optical_statistics)
from mmseg_lanet.datasets.converters.cli import main
from mmseg_lanet.datasets.converters.colour_labels import decode_colour_labels
from mmseg_lanet.datasets.converters.tiling import crop_starts, crop_windows
from mmseg_lanet.datasets.isprs_classes import ISPRS_PALETTE


def read_tif(path):
    return tifffile.imread(str(path))


def test_crop_starts_cover_the_tile_with_the_given_stride():
    assert crop_starts(100, 32, 32) == [0, 32, 64, 68]
    assert crop_starts(100, 32, 16) == [0, 16, 32, 48, 64, 68]
    assert crop_starts(96, 32, 32) == [0, 32, 64]
    assert crop_starts(20, 32, 16) == [0]
    assert crop_windows(40, 48, 32, 16) == [(0, 0, 32, 32), (0, 16, 32, 48),
                                            (8, 0, 40, 32), (8, 16, 40, 48)]
    with pytest.raises(ValueError, match='stride \\(40\\) larger than crop'):
        crop_starts(100, 32, 40)


def test_decode_colour_labels_snaps_off_palette_and_reports_unknown():
    rgb = np.array([[[255, 255, 255], [0, 0, 255], [250, 3, 2]],
                    [[3, 250, 252], [255, 0, 255], [0, 0, 0]]], np.uint8)
    labels, report = decode_colour_labels(rgb, ISPRS_PALETTE)
    # (250, 3, 2) -> clutter, (3, 250, 252) -> low vegetation; magenta and
    # black (no boundary class in a full reference) are unknown.
    assert labels.tolist() == [[0, 1, 5], [2, 255, 255]]
    assert (report.pixels, report.off_palette, report.num_unknown) == (6, 2, 2)
    assert report.unknown == {(255, 0, 255): 1, (0, 0, 0): 1}

    eroded, report = decode_colour_labels(
        rgb, ISPRS_PALETTE, ignore_colour=(0, 0, 0))
    assert eroded.tolist() == [[0, 1, 5], [2, 255, 255]]
    assert report.unknown == {(255, 0, 255): 1}
    # A different threshold moves what snaps: 120 counts as high at 100.
    labels, _ = decode_colour_labels(
        np.array([[[120, 120, 120]]], np.uint8), ISPRS_PALETTE, threshold=100)
    assert labels.tolist() == [[0]]


def expected_full_labels(tile):
    """The full reference as the converter must decode it, by hand."""
    labels = tile.labels.copy()
    for (y, x), colour in tile.edits.items():
        labels[y, x] = {(250, 3, 2): 5, (3, 250, 252): 2}.get(colour, 255)
    return labels


def test_potsdam_whole_tiles_pixel_for_pixel(tmp_path, make_potsdam_archives):
    edits = {(0, 0): (250, 3, 2), (1, 1): (3, 250, 252),
             (2, 2): (255, 0, 255), (3, 3): (255, 0, 255), (4, 4): (0, 0, 0)}
    tiles = make_potsdam_archives(tmp_path, edits={'6_7': edits})
    out = tmp_path / 'out'
    manifest = convert_dataset(POTSDAM_LAYOUT, str(tmp_path), str(out),
                               progress=False)

    assert sorted(os.listdir(out / 'img_dir' / 'train')) == [
        '2_10.tif', '6_7.tif']
    assert sorted(os.listdir(out / 'img_dir' / 'val')) == ['2_13.tif']
    # Every output file an uncompressed TIFF: the windowed layout.
    for folder, suffix in (('dsm_dir', 'tif'), ('ann_dir', 'tif'),
                           ('ann_eroded_dir', 'tif')):
        assert sorted(os.listdir(out / folder / 'train')) == [
            f'2_10.{suffix}', f'6_7.{suffix}']
        assert os.listdir(out / folder / 'val') == [f'2_13.{suffix}']
    assert manifest['run']['unlisted'] == ['1_1']

    for tile, split in (('2_10', 'train'), ('6_7', 'train'), ('2_13', 'val')):
        data = tiles[tile]
        img = read_tif(out / 'img_dir' / split / f'{tile}.tif')
        assert img.shape == (40, 48, 4) and img.dtype == np.uint8
        np.testing.assert_array_equal(img, data.rgbir)
        dsm = read_tif(out / 'dsm_dir' / split / f'{tile}.tif')
        assert dsm.dtype == np.float32
        np.testing.assert_array_equal(dsm, data.dsm)
        np.testing.assert_array_equal(
            read_tif(out / 'ann_dir' / split / f'{tile}.tif'),
            expected_full_labels(data))
        np.testing.assert_array_equal(
            read_tif(out / 'ann_eroded_dir' / split / f'{tile}.tif'),
            data.eroded)

    # The unknown colours are counted and reported, not silently mapped.
    report = manifest['tiles']['6_7']['colours']['labels']
    assert (report['off_palette'], report['unknown']) == (2, 3)
    assert report['unknown_colours'] == [[[255, 0, 255], 2], [[0, 0, 0], 1]]
    summary = format_summary(manifest)
    assert ('labels 6_7 (full): 2 off-palette px snapped (channel threshold '
            '127); 3 px of unknown colours set to 255 (ignored): '
            '(255, 0, 255) x 2, (0, 0, 0) x 1') in summary
    assert 'skipped, in neither official split: 1_1' in summary
    assert 'heights: DSM (absolute heights, float32) from 1_DSM.zip' in summary
    # Global statistics over the two training tiles, for NormalizeDSM.
    both = np.concatenate([tiles['2_10'].dsm, tiles['6_7'].dsm]).astype(
        np.float64)
    assert f'mean {both.mean():.4f}, std {both.std():.4f}' in summary
    # Per-band optical statistics of the training tiles, recorded per tile
    # and pooled for SegDataPreProcessor.
    optical = np.concatenate([tiles['2_10'].rgbir, tiles['6_7'].rgbir]
                             ).reshape(-1, 4).astype(np.float64)
    means, stds = optical_statistics(manifest)
    np.testing.assert_allclose(means, optical.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stds, optical.std(axis=0), rtol=1e-9)
    record = manifest['tiles']['2_10']
    assert record['img_count'] == 40 * 48
    assert record['img_sum'] == tiles['2_10'].rgbir.reshape(-1, 4).sum(
        axis=0).tolist()
    assert ('optical bands over the training tiles (R, G, B, NIR): mean ['
            + ', '.join(f'{m:.2f}' for m in means) + '], std ['
            + ', '.join(f'{s:.2f}' for s in stds) + ']') in summary
    assert manifest['layout'] == 'windowed'


def test_potsdam_missing_dsm_is_an_error_naming_tile_and_archive(
        tmp_path, make_potsdam_archives):
    make_potsdam_archives(tmp_path, drop=('1_DSM/dsm_potsdam_02_13.tif', ))
    with pytest.raises(ValueError, match=(
            r'tile 2_13: no dsm file 1_DSM/dsm_potsdam_02_13.tif in '
            r'.*1_DSM\.zip')):
        convert_dataset(POTSDAM_LAYOUT, str(tmp_path), str(tmp_path / 'out'),
                        progress=False)
    assert not (tmp_path / 'out' / 'img_dir').exists()


def test_potsdam_missing_archives_are_named(tmp_path, make_potsdam_archives):
    make_potsdam_archives(tmp_path, rgbir=False)
    with pytest.raises(FileNotFoundError, match=(
            'need 4_Ortho_RGBIR.zip or 2_Ortho_RGB.zip \\+ 3_Ortho_IRRG.zip')):
        convert_dataset(POTSDAM_LAYOUT, str(tmp_path), str(tmp_path / 'out'))
    with pytest.raises(FileNotFoundError, match='1_DSM_normalisation.zip'):
        make_potsdam_archives(tmp_path)
        convert_dataset(POTSDAM_LAYOUT, str(tmp_path), str(tmp_path / 'out'),
                        dsm='ndsm')


def test_potsdam_rgb_plus_irrg_and_ndsm(tmp_path, make_potsdam_archives):
    tiles = make_potsdam_archives(
        tmp_path, rgbir=False, rgb_irrg=True, ndsm=True)
    out = tmp_path / 'out'
    manifest = convert_dataset(POTSDAM_LAYOUT, str(tmp_path), str(out),
                               progress=False)
    # RGB file + NIR band of the IRRG file = R, G, B, NIR.
    np.testing.assert_array_equal(
        read_tif(out / 'img_dir' / 'train' / '2_10.tif'),
        tiles['2_10'].rgbir)
    # 'auto' prefers the normalised DSM: the JPEG's grey levels, as float32.
    with zipfile.ZipFile(tmp_path / '1_DSM_normalisation.zip') as zf:
        jpeg = zf.read('1_DSM_normalisation/'
                       'dsm_potsdam_02_10_normalized_lastools.jpg')
    levels = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    np.testing.assert_array_equal(
        read_tif(out / 'dsm_dir' / 'train' / '2_10.tif'),
        levels.astype(np.float32))
    assert manifest['settings']['dsm_source'] == 'ndsm'


def test_potsdam_crops_honour_the_stride(tmp_path, make_potsdam_archives):
    tiles = make_potsdam_archives(tmp_path, tiles={'2_10': 0})
    for stride, starts_x in ((16, (0, 16)), (8, (0, 8, 16))):
        out = tmp_path / f'out{stride}'
        main(POTSDAM_LAYOUT, [
            str(tmp_path), '-o', str(out), '--mode', 'crops', '--clip_size',
            '32', '--stride_size', str(stride), '--no-progress'])
        names = sorted(os.listdir(out / 'img_dir' / 'train'))
        expected = sorted(f'2_10_{x}_{y}_{x + 32}_{y + 32}.tif'
                          for y in (0, 8) for x in starts_x)
        assert names == expected
        crop = read_tif(out / 'img_dir' / 'train' / '2_10_16_8_48_40.tif')
        np.testing.assert_array_equal(crop, tiles['2_10'].rgbir[8:40, 16:48])
        np.testing.assert_array_equal(
            read_tif(out / 'ann_eroded_dir' / 'train' / '2_10_16_8_48_40.tif'),
            tiles['2_10'].eroded[8:40, 16:48])


def test_conversion_resumes_and_refuses_other_settings(
        tmp_path, make_potsdam_archives):
    make_potsdam_archives(tmp_path)
    out = tmp_path / 'out'
    convert_dataset(POTSDAM_LAYOUT, str(tmp_path), str(out), progress=False)
    removed = out / 'ann_dir' / 'train' / '6_7.tif'
    removed.unlink()
    kept = out / 'img_dir' / 'train' / '2_10.tif'
    mtime = kept.stat().st_mtime_ns
    manifest = convert_dataset(POTSDAM_LAYOUT, str(tmp_path), str(out),
                               progress=False)
    assert manifest['run']['skipped'] == ['2_10', '2_13']
    assert manifest['run']['written'] == ['6_7']
    assert removed.exists() and kept.stat().st_mtime_ns == mtime
    with open(out / 'conversion.json') as f:
        assert sorted(json.load(f)['tiles']) == ['2_10', '2_13', '6_7']
    with pytest.raises(ValueError, match='records a conversion with other '
                       'settings'):
        convert_dataset(POTSDAM_LAYOUT, str(tmp_path), str(out),
                        mode='crops', progress=False)


def test_bad_files_are_errors_naming_them(tmp_path, make_zip, encode_tiff,
                                          make_potsdam_archives):
    make_potsdam_archives(tmp_path, tiles={'2_10': 0})
    # A 3-band "RGBIR" file.
    make_zip(tmp_path / '4_Ortho_RGBIR.zip', {
        '4_Ortho_RGBIR/top_potsdam_2_10_RGBIR.tif':
        encode_tiff(np.zeros((40, 48, 3), np.uint8), photometric='rgb')})
    with pytest.raises(ValueError, match=(
            r'4_Ortho_RGBIR\.zip:4_Ortho_RGBIR/top_potsdam_2_10_RGBIR\.tif: '
            r'has 3 band\(s\), expected 4')):
        convert_dataset(POTSDAM_LAYOUT, str(tmp_path), str(tmp_path / 'o1'),
                        progress=False)
    # A DSM of another size.
    make_potsdam_archives(tmp_path, tiles={'2_10': 0})
    make_zip(tmp_path / '1_DSM.zip', {
        '1_DSM/dsm_potsdam_02_10.tif':
        encode_tiff(np.zeros((40, 47), np.float32))})
    with pytest.raises(ValueError, match=(
            r'(?s)tile 2_10: files differ in size:.*40 x 47: .*1_DSM\.zip:'
            r'1_DSM/dsm_potsdam_02_10\.tif')):
        convert_dataset(POTSDAM_LAYOUT, str(tmp_path), str(tmp_path / 'o2'),
                        progress=False)


def test_vaihingen_layout(tmp_path, fake_tile, make_zip, encode_tiff):
    tiles = {'area1': fake_tile(10, 36, 44), 'area2': fake_tile(11, 44, 36)}
    images, full, eroded = {}, {}, {}
    for tile, data in tiles.items():
        irrg = data.rgbir[..., [3, 0, 1]]
        images[f'top/top_mosaic_09cm_{tile}.tif'] = encode_tiff(
            irrg, photometric='rgb')
        images[f'dsm/dsm_09cm_matching_{tile}.tif'] = encode_tiff(data.dsm)
        # Old participants' labels share the file name of the image.
        images[f'gts_for_participants/top_mosaic_09cm_{tile}.tif'] = \
            encode_tiff(data.colours())
        full[f'top_mosaic_09cm_{tile}.tif'] = encode_tiff(data.colours())
        eroded[f'top_mosaic_09cm_{tile}_noBoundary.tif'] = encode_tiff(
            data.eroded_colours())
    eroded['top_mosaic_09cm_area9_noBoundary.tif'] = encode_tiff(
        tiles['area1'].eroded_colours())
    make_zip(tmp_path / 'ISPRS_semantic_labeling_Vaihingen.zip', images)
    make_zip(tmp_path /
             'ISPRS_semantic_labeling_Vaihingen_ground_truth_COMPLETE.zip',
             full)
    make_zip(
        tmp_path /
        'ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE.zip',
        eroded)
    out = tmp_path / 'out'
    manifest = main(VAIHINGEN_LAYOUT,
                    [str(tmp_path), '-o', str(out), '--no-progress'])
    for tile, split in (('area1', 'train'), ('area2', 'val')):
        data = tiles[tile]
        np.testing.assert_array_equal(
            read_tif(out / 'img_dir' / split / f'{tile}.tif'),
            data.rgbir[..., [3, 0, 1]])
        np.testing.assert_array_equal(
            read_tif(out / 'dsm_dir' / split / f'{tile}.tif'), data.dsm)
        np.testing.assert_array_equal(
            read_tif(out / 'ann_dir' / split / f'{tile}.tif'), data.labels)
        np.testing.assert_array_equal(
            read_tif(out / 'ann_eroded_dir' / split / f'{tile}.tif'),
            data.eroded)
    assert manifest['run']['orphans'] == {
        'ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE.zip':
        ['area9']}
    assert 'ignored, no optical image: area9' in format_summary(manifest)


def test_official_split_lists():
    assert len(POTSDAM_LAYOUT.train_tiles) == 24
    assert sorted(POTSDAM_LAYOUT.val_tiles) == sorted([
        '2_13', '2_14', '3_13', '3_14', '4_13', '4_14', '4_15', '5_13',
        '5_14', '5_15', '6_13', '6_14', '6_15', '7_13'])
    # The 38 Potsdam tiles: rows 2-7 x columns 10-15 but 2_15, 3_15, 7_14,
    # 7_15, plus 6_7-6_9 and 7_7-7_9.
    potsdam_all = ({f'{r}_{c}' for r in range(2, 8) for c in range(10, 16)}
                   - {'2_15', '3_15', '7_14', '7_15'}) | {
                       '6_7', '6_8', '6_9', '7_7', '7_8', '7_9'}
    assert set(POTSDAM_LAYOUT.train_tiles) | set(
        POTSDAM_LAYOUT.val_tiles) == potsdam_all
    assert len(potsdam_all) == 38
    assert [int(t[4:]) for t in VAIHINGEN_LAYOUT.train_tiles] == [
        1, 3, 5, 7, 11, 13, 15, 17, 21, 23, 26, 28, 30, 32, 34, 37]
    assert [int(t[4:]) for t in VAIHINGEN_LAYOUT.val_tiles] == [
        2, 4, 6, 8, 10, 12, 14, 16, 20, 22, 24, 27, 29, 31, 33, 35, 38]


def test_grey_height_file_with_identical_channels_is_one_band(
        tmp_path, make_potsdam_archives, make_zip):
    tiles = make_potsdam_archives(tmp_path, tiles={'2_10': 0})
    grey = np.clip(tiles['2_10'].dsm - 30, 0, 255).astype(np.uint8)
    jpeg = cv2.imencode('.jpg', np.dstack([grey] * 3))[1].tobytes()
    make_zip(tmp_path / '1_DSM_normalisation.zip', {
        '1_DSM_normalisation/dsm_potsdam_02_10_normalized_lastools.jpg':
        jpeg})
    out = tmp_path / 'out'
    convert_dataset(POTSDAM_LAYOUT, str(tmp_path), str(out), progress=False)
    dsm = read_tif(out / 'dsm_dir' / 'train' / '2_10.tif')
    assert dsm.shape == (40, 48)
    decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(dsm, decoded[..., 0].astype(np.float32))
    # Channels that differ are not a height map: an error names the file
    # (PNG content under the official name, so that nothing is lossy).
    other = np.dstack([grey, grey, 255 - grey])
    make_zip(tmp_path / '1_DSM_normalisation.zip', {
        '1_DSM_normalisation/dsm_potsdam_02_10_normalized_lastools.jpg':
        cv2.imencode('.png', other)[1].tobytes()})
    with pytest.raises(ValueError, match=(
            r'dsm_potsdam_02_10_normalized_lastools\.jpg: has 3 band\(s\), '
            'expected 1')):
        convert_dataset(POTSDAM_LAYOUT, str(tmp_path), str(tmp_path / 'o2'),
                        progress=False)
