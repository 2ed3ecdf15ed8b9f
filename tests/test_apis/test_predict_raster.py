"""predict_raster and RasterInferencer on GeoTIFFs with a real CRS."""
import os
import os.path as osp
import re

import numpy as np
import pytest
import torch

from _raster_helpers import (TRANSFORM, UTM33, read_back, tiny_config,
                             write_geotiff, write_vrt_mosaic)
from mmseg_lanet.apis import (InputSpec, PredictOptions, RasterInferencer,
                              RasterInput, load_segmentor, predict_raster)
from mmseg_lanet.datasets.isprs_classes import ISPRS_CLASSES, ISPRS_PALETTE

BOUNDED = dict(window=(64, 64), stride=(48, 48), batch_size=3,
               mode='bounded')


def _labels(path):
    return read_back(path)[0][0]


def test_label_geotiff_georeferenced(tiny_model, rasters, tmp_path):
    options = PredictOptions(probabilities=True, **BOUNDED)
    result = predict_raster(tiny_model, rasters['image'], str(tmp_path),
                            rasters['dsm'], options)
    assert result['status'] == 'done' and result['mode'] == 'bounded'
    # 150 x 130, windows 64 every 48: rows 0 48 86, cols 0 48 66.
    assert (result['windows'], result['skipped']) == (9, 0)
    assert result['band_shape'] == (6, 64, 130)
    labels, profile, crs, transform = read_back(result['paths']['labels'])
    assert crs == UTM33 and transform == TRANSFORM
    assert labels.shape == (1, 150, 130) and labels.dtype == np.uint8
    assert profile['nodata'] == 255 and profile['tiled']
    assert profile['compress'] == 'deflate'
    assert labels.max() <= 5
    with pytest.importorskip('rasterio').open(
            result['paths']['labels']) as ds:
        assert ds.colormap(1)[1] == (*ISPRS_PALETTE[1], 255)
    probs, profile, crs, transform = read_back(
        result['paths']['probabilities'])
    assert probs.shape == (6, 150, 130) and probs.dtype == np.uint8
    assert crs == UTM33 and transform == TRANSFORM
    # Quantised probabilities sum to 255 up to rounding; the label's is the
    # largest (ties of the untrained model's near-uniform ones allowed).
    assert np.abs(probs.sum(0, dtype=int) - 255).max() <= 3
    np.testing.assert_array_equal(
        np.take_along_axis(probs, labels.astype(int), 0)[0], probs.max(0))
    import cv2
    quicklook = cv2.imread(result['paths']['quicklook'])[..., ::-1]
    assert quicklook.shape == (150, 130, 3)
    np.testing.assert_array_equal(
        quicklook, np.asarray(ISPRS_PALETTE, np.uint8)[labels[0]])
    assert sorted(os.listdir(tmp_path)) == [
        'ortho.tif', 'ortho_colour.png', 'ortho_probs.tif']


def test_whole_and_bounded_agree(tiny_model, rasters, tmp_path):
    """Bounded mode blends windows of 64 with context cut at their borders;
    the documented tolerance of the tiny (untrained) model's labels is 90 %
    pixel agreement with whole-raster mode (a trained model agrees far
    better: see the README's sample figures)."""
    whole = predict_raster(tiny_model, rasters['image'], str(tmp_path / 'w'),
                           rasters['dsm'], PredictOptions(mode='whole'))
    assert whole['mode'] == 'whole' and whole['windows'] == 1
    assert whole['band_shape'] == (6, 150, 130)
    bounded = predict_raster(tiny_model, rasters['image'],
                             str(tmp_path / 'b'), rasters['dsm'],
                             PredictOptions(**BOUNDED))
    agreement = (_labels(whole['paths']['labels']) == _labels(
        bounded['paths']['labels'])).mean()
    assert agreement >= 0.9
    # Whole mode is the model's own whole-image prediction.
    source = RasterInput(InputSpec.from_config(tiny_model.cfg),
                         rasters['image'], dsm=rasters['dsm'])
    pixels, _ = source.read((0, 0, 150, 130))
    source.close()
    with torch.no_grad():
        logits = tiny_model.encode_decode(
            torch.from_numpy(pixels)[None],
            [dict(img_shape=(150, 130), ori_shape=(150, 130))])
    # Up to the float16 band: labels may differ only where the two best
    # classes are within its rounding.
    top2 = logits[0].softmax(0).topk(2, dim=0).values
    clear = (top2[0] - top2[1] > 2e-3).numpy()
    labels = _labels(whole['paths']['labels'])
    np.testing.assert_array_equal(labels[clear],
                                  logits[0].argmax(0).numpy()[clear])


def test_auto_mode_follows_memory_budget():
    options = PredictOptions(mode='auto', max_memory=1.)
    assert options.whole((1000, 1000))
    assert not options.whole((100000, 100000))
    with pytest.raises(ValueError, match="mode must be 'auto', 'whole'"):
        PredictOptions(mode='slide')


@pytest.mark.parametrize('dsm_mode', ['global', 'per_tile'])
def test_normalisation_matches_test_pipeline(tiny_model, rasters, scene,
                                             dsm_mode):
    """Per-band mean/std and NormalizeDSM as the test pipeline; 'per_tile'
    with whole-raster statistics gathered window by window."""
    import dataclasses
    spec = InputSpec.from_config(tiny_model.cfg)
    assert spec.bands == ('R', 'G', 'B', 'NIR', 'nDSM')
    # The sample config's: NormalizeDSM(mode='global') with fixed stats.
    assert spec.dsm_mode == 'global'
    assert (spec.dsm_mean, spec.dsm_std) == (
        tiny_model.cfg.dsm_mean, tiny_model.cfg.dsm_std)
    dsm = scene['dsm'].astype(np.float64)
    if dsm_mode == 'per_tile':
        spec = dataclasses.replace(spec, dsm_mode='per_tile', dsm_mean=None,
                                   dsm_std=None)
        mean, std = dsm.mean(), max(dsm.std(), 1.0)
    else:
        mean, std = spec.dsm_mean, spec.dsm_std
    source = RasterInput(spec, rasters['image'], dsm=rasters['dsm'])
    pixels, valid = source.read((10, 20, 30, 40))
    source.close()
    assert valid is None and pixels.shape == (5, 30, 40)
    np.testing.assert_allclose(
        pixels[4], (scene['dsm'][10:40, 20:60] - mean) / std, rtol=1e-4,
        atol=1e-4)
    band_mean = np.asarray(spec.mean[:4], np.float32)[:, None, None]
    band_std = np.asarray(spec.std[:4], np.float32)[:, None, None]
    np.testing.assert_allclose(
        pixels[:4], (scene['image'][:, 10:40, 20:60] - band_mean) / band_std,
        rtol=1e-5)


def test_band_order_from_option(tiny_model, rasters, scene, tmp_path):
    # The file stores NIR, R, G, B plus an extra band; --bands names them.
    shuffled = np.concatenate([scene['image'][[3, 0, 1, 2]],
                               scene['image'][:1]])
    path = write_geotiff(tmp_path / 'nrgb.tif', shuffled)
    options = PredictOptions(file_bands=('NIR', 'R', 'G', 'B', 'pan'),
                             mode='whole', quicklook=False)
    out = predict_raster(tiny_model, path, str(tmp_path / 'a'),
                         rasters['dsm'], options)
    reference = predict_raster(tiny_model, rasters['image'],
                               str(tmp_path / 'b'), rasters['dsm'],
                               PredictOptions(mode='whole', quicklook=False))
    np.testing.assert_array_equal(_labels(out['paths']['labels']),
                                  _labels(reference['paths']['labels']))


def test_nodata_pixels_and_skipped_windows(tiny_model, rasters, scene,
                                           tmp_path):
    image = scene['image'].copy()
    image[:, :70] = 0  # the first row of windows is all nodata
    image[:, 100, 5] = 0
    path = write_geotiff(tmp_path / 'holes.tif', image, nodata=0)
    result = predict_raster(tiny_model, path, str(tmp_path / 'out'),
                            rasters['dsm'], PredictOptions(**BOUNDED))
    assert result['skipped'] == 3 and result['predicted'] == 6
    labels = _labels(result['paths']['labels'])
    nodata = np.all(image == 0, axis=0)
    np.testing.assert_array_equal(labels == 255, nodata)
    # --nodata 0 on a file without nodata: all-zero pixels.
    plain = write_geotiff(tmp_path / 'plain.tif', image)
    again = predict_raster(tiny_model, plain, str(tmp_path / 'out2'),
                           rasters['dsm'],
                           PredictOptions(nodata=0, **BOUNDED))
    np.testing.assert_array_equal(_labels(again['paths']['labels']), labels)


def _error(tiny_model, tmp_path, image, dsm, match, options=None):
    with pytest.raises(ValueError, match=match):
        predict_raster(tiny_model, image, str(tmp_path / 'out'), dsm,
                       options or PredictOptions(**BOUNDED))
    assert not osp.exists(tmp_path / 'out' / 'ortho.tif')


def test_bad_image_errors_name_the_file(tiny_model, rasters, scene, tmp_path):
    three = write_geotiff(tmp_path / 'rgb.tif', scene['image'][:3])
    _error(tiny_model, tmp_path, three, rasters['dsm'],
           f"{three}: has 3 band\\(s\\), expected 4 \\(R, G, B, NIR\\)")
    wide = write_geotiff(tmp_path / 'wide.tif',
                         scene['image'].astype(np.uint16) * 200)
    _error(tiny_model, tmp_path, wide, rasters['dsm'],
           f'{wide}: pixel type uint16, but the model was trained on 8-bit')
    text = tmp_path / 'notes.tif'
    text.write_text('hello')
    _error(tiny_model, tmp_path, str(text), rasters['dsm'],
           f'{text}: not a raster file')
    _error(tiny_model, tmp_path, rasters['image'], None,
           f"{rasters['image']}: the model takes band 'nDSM'; give its "
           'height raster with --dsm')
    _error(tiny_model, tmp_path, rasters['image'], rasters['dsm'],
           f"{rasters['image']}: lacks band\\(s\\) \\['NIR'\\]",
           PredictOptions(file_bands=('R', 'G', 'B', 'IR')))


@pytest.mark.parametrize('what,kwargs', [
    ('size', dict(array=np.zeros((150, 120), np.float32))),
    ('CRS', dict(crs='EPSG:32632')),
    ('transform', dict(transform=TRANSFORM @ TRANSFORM.translation(1, 0))),
    ('transform', dict(transform=TRANSFORM @ TRANSFORM.translation(0, 0.5))),
])
def test_height_raster_must_match_its_image(tiny_model, rasters, scene,
                                            tmp_path, what, kwargs):
    array = kwargs.pop('array', scene['dsm'])
    dsm = write_geotiff(tmp_path / 'dsm_bad.tif', array, **kwargs)
    _error(tiny_model, tmp_path, rasters['image'], dsm,
           f"{dsm}: {what} .* differs from its image {rasters['image']}")


def test_a_coarser_dsm_gets_a_command_that_works(tiny_model, rasters,
                                                scene, tmp_path):
    """A DSM at half the image's resolution: the error's command (rasterio's
    rio warp) puts it onto the image's grid, and the map then follows."""
    import re
    import shlex
    import subprocess
    import sys
    coarse = scene['dsm'].astype(np.float32).reshape(75, 2, 65, 2).mean(
        axis=(1, 3))
    dsm = write_geotiff(tmp_path / 'dsm_10cm.tif', coarse,
                        transform=TRANSFORM * TRANSFORM.scale(2, 2))
    with pytest.raises(ValueError, match=r'size \(75, 65\) differs') as error:
        predict_raster(tiny_model, rasters['image'], str(tmp_path / 'out'),
                       dsm, PredictOptions(**BOUNDED))
    command = re.search(r"rasterio's command\): (rio warp .*)$",
                        str(error.value))[1]
    rio = osp.join(osp.dirname(sys.executable), 'rio')
    args = shlex.split(command)
    subprocess.run([rio if osp.isfile(rio) else 'rio'] + args[1:],
                   check=True, timeout=120)
    result = predict_raster(tiny_model, rasters['image'],
                            str(tmp_path / 'out'), args[3],
                            PredictOptions(**BOUNDED))
    labels = _labels(result['paths']['labels'])
    assert labels.shape == (150, 130) and not (labels == 255).any()
    # The heights on the image's grid, aligned: nearer the fine heights
    # than those are to themselves moved by 4 px.
    heights, _, crs, transform = read_back(args[3])
    assert crs == UTM33 and transform == TRANSFORM
    assert heights.shape == (1, 150, 130)
    fine = scene['dsm'].astype(np.float32)
    error = np.abs(heights[0] - fine)[4:-4, 4:-4].mean()
    moved = np.abs(np.roll(fine, 4, axis=1) - fine)[4:-4, 4:-4].mean()
    assert error < moved / 2, (error, moved)


def test_checkpoint_of_other_classes(tiny_checkpoint, tmp_path):
    with pytest.raises(ValueError,
                       match=f'{tiny_checkpoint}: trained for 6 classes, the'
                       ' config has 4'):
        load_segmentor(tiny_config(num_classes=4), tiny_checkpoint)


def test_inferencer_folders_overwrite_and_resume(tiny_checkpoint, rasters,
                                                 scene, tmp_path,
                                                 monkeypatch):
    folder = tmp_path / 'tiles'
    folder.mkdir()
    for name in ('a.tif', 'b.tif'):
        write_geotiff(folder / name, scene['image'])
    dsm_folder = tmp_path / 'dsm'
    dsm_folder.mkdir()
    for name in ('a.tif', 'b.tif'):
        write_geotiff(dsm_folder / name, scene['dsm'])
    inferencer = RasterInferencer(tiny_config(), tiny_checkpoint,
                                  options=PredictOptions(**BOUNDED))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match=f'{tmp_path / "empty"}: folder '
                       'holds no raster file'):
        inferencer(str(tmp_path / 'empty'), str(tmp_path / 'out'))
    with pytest.raises(ValueError, match=f'{folder}: output folder would '
                       f'overwrite the input {folder / "a.tif"}'):
        inferencer(str(folder), str(folder), str(dsm_folder))

    # Interrupted in the middle of the second raster: the first is
    # complete, the second leaves no file under a final name.
    import mmseg_lanet.apis.raster_inference as module
    original = module.blended_inference
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            read, predict, write = args[:3]
            write(0, torch.full((6, 5, 130), 1 / 6),
                  torch.ones(5, 130, dtype=torch.bool))
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(module, 'blended_inference', interrupted)
    out = tmp_path / 'out'
    with pytest.raises(KeyboardInterrupt):
        inferencer(str(folder), str(out), str(dsm_folder), progress=False)
    assert sorted(os.listdir(out)) == ['a.tif', 'a_colour.png']
    monkeypatch.setattr(module, 'blended_inference', original)
    results = inferencer(str(folder), str(out), str(dsm_folder),
                         progress=False)
    assert [r['status'] for r in results] == ['skipped', 'done']
    assert sorted(os.listdir(out)) == ['a.tif', 'a_colour.png', 'b.tif',
                                       'b_colour.png']
    np.testing.assert_array_equal(_labels(str(out / 'a.tif')),
                                  _labels(str(out / 'b.tif')))


def test_non_finite_values_become_zero_and_nodata(tiny_model, scene,
                                                  tmp_path):
    """NaN or infinite heights, and optical values of a float image, enter
    the model as 0 and come out as nodata; finite values are untouched."""
    spec = InputSpec.from_config(tiny_model.cfg)
    dsm = scene['dsm'].astype(np.float32)
    dsm[3, 4], dsm[5, 6], dsm[7, 8] = np.nan, np.inf, -np.inf
    dsm_path = write_geotiff(tmp_path / 'dsm.tif', dsm)
    image = scene['image'].astype(np.float32)
    image[1, 9, 10] = np.nan
    paths = dict(uint8=write_geotiff(tmp_path / 'u8.tif', scene['image']),
                 float32=write_geotiff(tmp_path / 'f32.tif', image))
    import dataclasses
    # Statistics beyond 0-255: a model that takes floating-point images.
    float_spec = dataclasses.replace(spec, mean=[m * 100 for m in spec.mean])
    assert spec.eight_bit and not float_spec.eight_bit
    specs = dict(uint8=spec, float32=float_spec)
    for kind, path in paths.items():
        source = RasterInput(specs[kind], path, dsm=dsm_path)
        pixels, valid = source.read((0, 0, 12, 12))
        source.close()
        assert np.isfinite(pixels).all(), kind
        assert pixels[4, 3, 4] == pixels[4, 5, 6] == pixels[4, 7, 8] == 0
        assert not valid[3, 4] and not valid[5, 6] and not valid[7, 8]
        assert valid[9, 10] == (kind == 'uint8')
        assert valid.sum() == (141 if kind == 'uint8' else 140), kind
        np.testing.assert_allclose(
            pixels[4, 0, :3], (dsm[0, :3] - spec.dsm_mean) / spec.dsm_std,
            rtol=1e-5)
    # The float image's NaN pixel is nodata: 0 (the band means) in every
    # band, as every nodata pixel.
    assert (pixels[:, 9, 10] == 0).all()
    assert (pixels[:, ~valid] == 0).all() and (pixels[:, valid] != 0).any()


@pytest.mark.parametrize('mode', ['bounded', 'whole'])
def test_nodata_pixels_do_not_change_their_neighbours(tiny_model, scene,
                                                      tmp_path, mode):
    """A hole of -9999 in the heights and a block of nodata colours give
    the valid pixels the classes of the same raster holding every band's
    mean there (what the model sees at a nodata pixel), not classes pulled
    by -9999 through the receptive field and the patch descriptors."""
    spec = InputSpec.from_config(tiny_model.cfg)
    image, dsm = scene['image'].copy(), scene['dsm'].astype(np.float32)
    hole, block = np.s_[40:70, 30:60], np.s_[100:120, 90:130]
    dsm[hole] = -9999.
    image[(slice(None), ) + block] = 0
    # The reference: band means at those pixels, nothing nodata (float32
    # colours, which an 8-bit model takes when they lie in 0-255).
    means = np.asarray(spec.mean, np.float32)[:4, None, None]
    filled, filled_dsm = image.astype(np.float32), dsm.copy()
    for nodata_pixels in (hole, block):
        filled[(slice(None), ) + nodata_pixels] = means
        filled_dsm[nodata_pixels] = spec.dsm_mean
    options = PredictOptions(**(BOUNDED if mode == 'bounded' else
                                dict(mode='whole')))
    labels = {}
    for name, (img, hgt, nodata) in dict(
            holes=(image, dsm, 0), means=(filled, filled_dsm, None)).items():
        img_path = write_geotiff(tmp_path / f'{name}.tif', img,
                                 nodata=nodata)
        dsm_path = write_geotiff(tmp_path / f'{name}_dsm.tif', hgt,
                                 nodata=-9999. if nodata is not None else None)
        result = predict_raster(tiny_model, img_path,
                                str(tmp_path / f'out_{name}'), dsm_path,
                                options)
        labels[name] = _labels(result['paths']['labels'])
    nodata = np.zeros(dsm.shape, bool)
    nodata[hole] = nodata[block] = True
    np.testing.assert_array_equal(labels['holes'] == 255, nodata)
    assert not (labels['means'] == 255).any()
    np.testing.assert_array_equal(labels['holes'][~nodata],
                                  labels['means'][~nodata])


def test_channels_last_gives_the_same_map(tiny_checkpoint, rasters,
                                          tmp_path):
    maps = {}
    for channels_last in (False, True):
        inferencer = RasterInferencer(
            tiny_config(), tiny_checkpoint, options=PredictOptions(
                channels_last=channels_last, quicklook=False,
                probabilities=True, **BOUNDED))
        conv = inferencer.model.backbone.stem[0].weight
        assert conv.is_contiguous(
            memory_format=torch.channels_last) == channels_last
        out = inferencer(rasters['image'], str(tmp_path / str(channels_last)),
                         rasters['dsm'], progress=False)[0]
        maps[channels_last] = (_labels(out['paths']['labels']),
                               read_back(out['paths']['probabilities'])[0])
    assert (maps[True][0] == maps[False][0]).mean() > 0.999
    assert np.abs(maps[True][1].astype(int) - maps[False][1]).max() <= 1


def test_band_order_from_band_descriptions(tiny_model, rasters, scene,
                                           tmp_path):
    """A file whose bands are described by the model's band names (any
    case) is read in that order without --bands; --bands that contradict
    the descriptions are an error; other descriptions are ignored."""
    shuffled = scene['image'][[3, 0, 1, 2]]
    described = write_geotiff(tmp_path / 'described.tif', shuffled,
                              descriptions=('nir', 'R', 'g', 'B'))
    options = PredictOptions(mode='whole', quicklook=False)
    reference = predict_raster(tiny_model, rasters['image'],
                               str(tmp_path / 'ref'), rasters['dsm'], options)
    out = predict_raster(tiny_model, described, str(tmp_path / 'a'),
                         rasters['dsm'], options)
    np.testing.assert_array_equal(_labels(out['paths']['labels']),
                                  _labels(reference['paths']['labels']))
    with pytest.raises(ValueError, match=(
            r'described.tif: --bands R G B NIR contradicts the band '
            r'descriptions in the file: NIR R G B')):
        predict_raster(tiny_model, described, str(tmp_path / 'b'),
                       rasters['dsm'], PredictOptions(
                           file_bands=('R', 'G', 'B', 'NIR'), mode='whole'))
    # 'Band 1'... name no model band: the model's order is assumed, and
    # said, since a wrong guess would give nonsense rather than an error.
    generic = write_geotiff(tmp_path / 'generic.tif', scene['image'],
                            descriptions=('Band 1', 'Band 2', 'Band 3',
                                          'Band 4'))
    with pytest.warns(UserWarning, match=(
            r"generic.tif: no band names in the file \(band descriptions\); "
            r"reading its bands as R G B NIR, the model's order")):
        out = predict_raster(tiny_model, generic, str(tmp_path / 'c'),
                             rasters['dsm'], options)
    np.testing.assert_array_equal(_labels(out['paths']['labels']),
                                  _labels(reference['paths']['labels']))


def test_probability_bands_named_by_class(tiny_model, rasters, tmp_path):
    out = predict_raster(tiny_model, rasters['image'], str(tmp_path),
                         rasters['dsm'], PredictOptions(
                             probabilities=True, quicklook=False, **BOUNDED))
    import rasterio
    with rasterio.open(out['paths']['probabilities']) as ds:
        assert ds.descriptions == ISPRS_CLASSES
        assert ds.count == 6


def test_absolute_heights_for_an_ndsm_model_warn(tiny_model, scene,
                                                 tmp_path):
    """The sample model takes an nDSM (heights above ground, fixed scale):
    heights whose ground lies far above 0 are an absolute DSM, which gives a
    wrong map; a sample of the raster says so, naming the file. A model
    normalising each raster's heights ('per_tile') takes them."""
    import dataclasses
    import warnings
    spec = InputSpec.from_config(tiny_model.cfg)
    image = write_geotiff(tmp_path / 'ortho.tif', scene['image'],
                          descriptions=('R', 'G', 'B', 'NIR'))
    ground = scene['dsm'] - scene['dsm'].min()
    high = spec.dsm_mean + spec.dsm_std
    dsm = {name: write_geotiff(tmp_path / f'{name}.tif',
                               (ground + offset).astype(np.float32))
           for name, offset in (('above_ground', 0.), ('city', high + 40.))}
    with pytest.warns(UserWarning, match=(
            r"city.tif: its lowest heights \(2nd percentile [0-9.]+\) lie "
            r"far above the ground level 0 of the model's nDSM")) as record:
        RasterInput(spec, image, dsm=dsm['city']).close()
    assert len(record) == 1
    percentile = float(str(record[0].message).split('percentile ')[1]
                       .split(')')[0])
    assert percentile == pytest.approx(
        np.percentile(ground, 2) + high + 40., abs=2.)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        RasterInput(spec, image, dsm=dsm['above_ground']).close()
        per_tile = dataclasses.replace(spec, dsm_mode='per_tile',
                                       dsm_mean=None, dsm_std=None)
        RasterInput(per_tile, image, dsm=dsm['city']).close()


def test_vrt_mosaic_of_tiles(tiny_model, rasters, scene, tmp_path):
    """A city as GIS tools deliver it: a GDAL VRT over GeoTIFF tiles (image
    and heights), read window by window across the tiles' seams, gives the
    map of the single raster, with the mosaic's georeference."""
    image = write_vrt_mosaic(tmp_path, 'ortho', scene['image'], (70, 61))
    dsm = write_vrt_mosaic(tmp_path, 'dsm', scene['dsm'], (90, 40))
    options = PredictOptions(file_bands=('R', 'G', 'B', 'NIR'),
                             quicklook=False, **BOUNDED)
    single = predict_raster(tiny_model, rasters['image'],
                            str(tmp_path / 'single'), rasters['dsm'], options)
    mosaic = predict_raster(tiny_model, image, str(tmp_path / 'mosaic'), dsm,
                            options)
    assert mosaic['predicted'] == single['predicted'] == 9
    labels, profile, crs, transform = read_back(mosaic['paths']['labels'])
    assert osp.basename(mosaic['paths']['labels']) == 'ortho.tif'
    assert crs == UTM33 and transform == TRANSFORM
    assert profile['width'] == 130 and profile['height'] == 150
    np.testing.assert_array_equal(labels[0],
                                  _labels(single['paths']['labels']))


def test_crs_mismatch_names_both_codes(tiny_model, rasters, scene, tmp_path):
    dsm = write_geotiff(tmp_path / 'dsm_32632.tif', scene['dsm'],
                        crs='EPSG:32632')
    # With the command that puts the heights onto the image's grid.
    warped = str(tmp_path / 'dsm_32632_on_ortho.tif')
    _error(tiny_model, tmp_path, rasters['image'], dsm,
           f"^{dsm}: CRS 'EPSG:32632' differs from its image "
           f"{rasters['image']} \\('EPSG:32633'\\); resample it onto the "
           f"image's grid \\(rasterio's command\\): rio warp {dsm} {warped} "
           f"--like {rasters['image']} --resampling bilinear$")


STACK_BANDS = ('R', 'G', 'B', 'NIR', 'nDSM')


def _stack(scene, colours=None):
    """Colours and heights in one float32 file, as numpy users stack
    them."""
    colours = scene['image'] if colours is None else colours
    return np.concatenate([colours, scene['dsm'][None]]).astype(np.float32)


def test_stack_of_colours_and_heights(tiny_model, rasters, scene, tmp_path):
    """A float32 file of R, G, B, NIR and nDSM (described or named with
    --bands) needs no --dsm and gives the map of the 8-bit image and its
    height raster; NaN colours are nodata."""
    options = dict(mode='bounded', window=(64, 64), stride=(48, 48),
                   batch_size=3, quicklook=False)
    reference = _labels(predict_raster(
        tiny_model, rasters['image'], str(tmp_path / 'ref'), rasters['dsm'],
        PredictOptions(**options))['paths']['labels'])
    stack = _stack(scene)
    described = write_geotiff(tmp_path / 'described.tif', stack,
                              descriptions=STACK_BANDS)
    plain = write_geotiff(tmp_path / 'plain.tif', stack)
    for path, bands in ((described, None), (plain, STACK_BANDS)):
        out = predict_raster(tiny_model, path, str(tmp_path / 'out'), None,
                             PredictOptions(file_bands=bands, **options))
        np.testing.assert_array_equal(_labels(out['paths']['labels']),
                                      reference)
    stack[2, 40:60, 30:50] = np.nan
    holes = write_geotiff(tmp_path / 'holes.tif', stack,
                          descriptions=STACK_BANDS)
    labels = _labels(predict_raster(
        tiny_model, holes, str(tmp_path / 'out'), None,
        PredictOptions(**options))['paths']['labels'])
    hole = np.zeros(labels.shape, bool)
    hole[40:60, 30:50] = True
    np.testing.assert_array_equal(labels == 255, hole)


@pytest.mark.parametrize('scale,values', [(1 / 255, '0 to 1'),
                                          (16, '0 to 40[0-9]{2}')])
def test_float_colours_beyond_eight_bits(tiny_model, scene, tmp_path, scale,
                                         values):
    """Float colours are checked on a sample: 0-1 reflectances and 12-bit
    values are refused for a model of 8-bit colours, naming the file and
    the band."""
    colours = scene['image'].astype(np.float32) * scale
    path = write_geotiff(tmp_path / 'ortho_f.tif', _stack(scene, colours),
                         descriptions=STACK_BANDS)
    _error(tiny_model, tmp_path, path, None,
           f'{path}: band R holds values {values} \\(sampled\\), but the '
           'model was trained on 8-bit values')


def test_a_dsm_band_for_an_ndsm_model(tiny_model, rasters, scene, tmp_path):
    """A file band described as DSM (absolute heights) is not taken for the
    model's nDSM: an error without --dsm, an ignored band with it."""
    path = write_geotiff(tmp_path / 'ortho_dsm.tif', _stack(scene),
                         descriptions=('R', 'G', 'B', 'NIR', 'DSM'))
    _error(tiny_model, tmp_path, path, None,
           f"{path}: its band 'DSM' is not the model's height band 'nDSM' "
           r"\(DSM: heights above sea level; nDSM: heights above ground\)")
    options = PredictOptions(mode='whole', quicklook=False)
    out = predict_raster(tiny_model, path, str(tmp_path / 'a'),
                         rasters['dsm'], options)
    reference = predict_raster(tiny_model, rasters['image'],
                               str(tmp_path / 'b'), rasters['dsm'], options)
    np.testing.assert_array_equal(_labels(out['paths']['labels']),
                                  _labels(reference['paths']['labels']))


def test_alpha_band_and_internal_mask_give_nodata(tiny_model, rasters, scene,
                                                  tmp_path):
    """A band tagged as alpha beyond the model's bands is transparency
    (alpha 0: nodata), as is GDAL's internal mask; a tagged band the model
    reads (GDAL tags any 4-band 8-bit file's fourth band) stays a band."""
    import rasterio
    from rasterio.enums import ColorInterp
    image = scene['image']
    hidden = np.zeros(image.shape[1:], bool)
    hidden[:, :25] = True
    hidden[90:110, 60:100] = True
    # The reference: zeros there, nodata 0.
    zeroed = np.where(hidden, 0, image).astype(np.uint8)
    reference = predict_raster(
        tiny_model, write_geotiff(tmp_path / 'zeroed.tif', zeroed, nodata=0),
        str(tmp_path / 'ref'), rasters['dsm'], PredictOptions(**BOUNDED))
    expected = _labels(reference['paths']['labels'])
    np.testing.assert_array_equal(expected == 255, hidden)
    profile = dict(driver='GTiff', height=150, width=130, dtype='uint8',
                   crs=UTM33, transform=TRANSFORM)
    alpha = str(tmp_path / 'rgbn_alpha.tif')
    with rasterio.open(alpha, 'w', count=5, **profile) as ds:
        ds.write(np.concatenate([image, np.where(hidden, 0, 255)[None]]))
        ds.colorinterp = [ColorInterp.red, ColorInterp.green,
                          ColorInterp.blue, ColorInterp.undefined,
                          ColorInterp.alpha]
    masked = str(tmp_path / 'masked.tif')
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(
            masked, 'w', count=4, photometric='MINISBLACK', **profile) as ds:
        ds.write(image)
        ds.write_mask(np.where(hidden, 0, 255).astype(np.uint8))
    for path, note in ((alpha, ', band 5 as transparency \\(alpha\\)'),
                       (masked, '')):
        with pytest.warns(UserWarning, match="reading its bands as R G B "
                          f"NIR, the model's order{note}; name them"):
            result = predict_raster(tiny_model, path,
                                    str(tmp_path / osp.basename(path)[:-4]),
                                    rasters['dsm'], PredictOptions(**BOUNDED))
        np.testing.assert_array_equal(_labels(result['paths']['labels']),
                                      expected)
    # An alpha band without the tag, named so.
    plain = str(tmp_path / 'untagged.tif')
    write_geotiff(plain, np.concatenate([image,
                                         np.where(hidden, 0, 255)[None]
                                         ]).astype(np.uint8))
    result = predict_raster(
        tiny_model, plain, str(tmp_path / 'untagged'), rasters['dsm'],
        PredictOptions(file_bands=['R', 'G', 'B', 'NIR', 'Alpha'],
                       **BOUNDED))
    np.testing.assert_array_equal(_labels(result['paths']['labels']),
                                  expected)
    # GDAL's default tags the NIR of a 4-band file as alpha: read as NIR.
    with rasterio.open(rasters['image']) as ds:
        assert ds.colorinterp[3] == ColorInterp.alpha
    with pytest.warns(UserWarning, match=r"model's order \(its band 4, "
                      r'tagged as alpha, as NIR\)'):
        source = RasterInput(InputSpec.from_config(tiny_model.cfg),
                             rasters['image'], dsm=rasters['dsm'])
    pixels, valid = source.read((0, 0, 150, 130))
    source.close()
    assert valid is None
    spec = InputSpec.from_config(tiny_model.cfg)
    np.testing.assert_allclose(pixels[3], (image[3] - spec.mean[3]) /
                               spec.std[3], rtol=1e-5, atol=1e-5)


def test_stale_partial_files_are_not_maps(tiny_model, rasters, tmp_path):
    """Hidden partial files a killed run left (old fixed name, or another
    process's unique name) in the input and output folders are neither
    inputs nor finished maps, and do not stop the run."""
    from mmseg_lanet.apis.raster_inference import find_rasters
    folder, out = tmp_path / 'in', tmp_path / 'out'
    folder.mkdir()
    out.mkdir()
    image = folder / 'ortho.tif'
    image.write_bytes(open(rasters['image'], 'rb').read())
    stale = ['.ortho.partial.tif', '.ortho.partial-4242-0badc0de.tif',
             '.ortho_colour.partial-4242-0badc0de.png']
    for name in stale:
        (folder / name).write_bytes(b'killed')
        (out / name).write_bytes(b'killed')
    assert find_rasters([str(folder)]) == [str(image)]
    result = predict_raster(tiny_model, str(image), str(out), rasters['dsm'],
                            PredictOptions(**BOUNDED))
    assert result['status'] == 'done'
    assert _labels(result['paths']['labels']).shape == (150, 130)
    assert sorted(os.listdir(out)) == sorted(
        stale + ['ortho.tif', 'ortho_colour.png'])
    assert all((out / name).read_bytes() == b'killed' for name in stale)


def test_folder_run_goes_on_past_a_damaged_raster(tiny_checkpoint, rasters,
                                                  scene, tmp_path,
                                                  damage_tile, caplog):
    """A GeoTIFF whose JPEG tile is noise, between two sound ones: one
    line names it and the window that failed, the other maps are written,
    the damaged one leaves no file, and a summary line ends the run."""
    import logging
    folder, dsm_folder, out = (tmp_path / 'in', tmp_path / 'dsm',
                               tmp_path / 'out')
    folder.mkdir()
    dsm_folder.mkdir()
    jpeg = dict(tiled=True, blockxsize=64, blockysize=64, compress='jpeg',
                photometric='MINISBLACK')
    for name in ('a', 'b', 'c'):
        write_geotiff(folder / f'{name}.tif', scene['image'], **jpeg)
        write_geotiff(dsm_folder / f'{name}.tif', scene['dsm'])
    damaged = str(folder / 'b.tif')
    damage_tile(damaged, 4)  # rows 64-127, cols 64-127
    inferencer = RasterInferencer(tiny_config(), tiny_checkpoint,
                                  options=PredictOptions(**BOUNDED))
    with caplog.at_level(logging.INFO, 'mmseg_lanet.apis'):
        results = inferencer(str(folder), str(out), str(dsm_folder),
                             progress=False)
    assert [r['status'] for r in results] == ['done', 'failed', 'done']
    # Windows of 64 every 48: (48, 48) is the first over the tile.
    assert results[1]['error'] == caplog.records[1].getMessage()
    assert re.fullmatch(
        f'failed: {re.escape(damaged)}: window \\(row 48, col 48, 64 x 64\\) '
        r'cannot be read \((JPEGLib|band 1).+\); the file may be damaged or '
        'truncated',
        results[1]['error']), results[1]['error']
    assert [r.levelname for r in caplog.records] == [
        'INFO', 'ERROR', 'INFO', 'INFO']
    assert caplog.records[-1].getMessage() == (
        '3 raster(s): 2 map(s) written, 0 skipped (already done), 1 failed')
    assert sorted(os.listdir(out)) == ['a.tif', 'a_colour.png', 'c.tif',
                                       'c_colour.png']
    np.testing.assert_array_equal(_labels(str(out / 'a.tif')),
                                  _labels(str(out / 'c.tif')))


def test_band_descriptions_as_writers_spell_them(tiny_model, rasters, scene,
                                                 tmp_path):
    """Descriptions such as 'Red', 'green', 'BLUE', 'near-infrared' or
    'Normalized DSM' name the model's R, G, B, NIR and nDSM: the file is
    read in their order, saying which spelling was taken for which band;
    --bands take any case and those spellings too."""
    options = PredictOptions(mode='whole', quicklook=False)
    reference = _labels(predict_raster(
        tiny_model, rasters['image'], str(tmp_path / 'ref'), rasters['dsm'],
        options)['paths']['labels'])
    shuffled = scene['image'][[3, 0, 1, 2]]
    described = write_geotiff(
        tmp_path / 'described.tif', shuffled,
        descriptions=('near-infrared', 'Red', 'green', 'BLUE'))
    with pytest.warns(UserWarning, match=(
            r"^.*described.tif: reading its bands by their descriptions: "
            r"'near-infrared' as NIR, 'Red' as R, 'green' as G, 'BLUE' as "
            r"B$")):
        out = predict_raster(tiny_model, described, str(tmp_path / 'a'),
                             rasters['dsm'], options)
    np.testing.assert_array_equal(_labels(out['paths']['labels']), reference)
    plain = write_geotiff(tmp_path / 'plain.tif', shuffled)
    out = predict_raster(tiny_model, plain, str(tmp_path / 'b'),
                         rasters['dsm'], PredictOptions(
                             file_bands=('nir', 'r', 'Green', 'blue'),
                             mode='whole', quicklook=False))
    np.testing.assert_array_equal(_labels(out['paths']['labels']), reference)
    stack = write_geotiff(tmp_path / 'stack.tif', _stack(scene),
                          descriptions=('red', 'green', 'blue', 'NIR',
                                        'Normalized DSM'))
    with pytest.warns(UserWarning, match="'Normalized DSM' as nDSM$"):
        out = predict_raster(tiny_model, stack, str(tmp_path / 'c'), None,
                             options)
    np.testing.assert_array_equal(_labels(out['paths']['labels']), reference)


def test_heights_in_the_image_take_its_nodata(tiny_model, rasters, scene,
                                              tmp_path):
    """A float32 R G B NIR nDSM stack with nodata -9999 and a void in its
    height band only: the void is nodata, as it is for a height raster
    given apart, and the per-tile height statistics are those of the valid
    heights. A uint8 stack with nodata 0 keeps its nDSM's 0s (the ground)
    and loses only its all-zero pixels."""
    import dataclasses
    spec = InputSpec.from_config(tiny_model.cfg)
    stack = _stack(scene)
    void = np.zeros(stack.shape[1:], bool)
    void[30:50, 20:45] = True
    stack[4][void] = -9999.
    holes = write_geotiff(tmp_path / 'holes.tif', stack, nodata=-9999.,
                          descriptions=STACK_BANDS)
    dsm = write_geotiff(tmp_path / 'dsm_holes.tif', stack[4], nodata=-9999.)
    labels = {}
    for name, image, heights in (('stack', holes, None),
                                 ('apart', rasters['image'], dsm)):
        labels[name] = _labels(predict_raster(
            tiny_model, image, str(tmp_path / name), heights,
            PredictOptions(**BOUNDED))['paths']['labels'])
    np.testing.assert_array_equal(labels['stack'] == 255, void)
    np.testing.assert_array_equal(labels['stack'], labels['apart'])
    per_tile = dataclasses.replace(spec, dsm_mode='per_tile', dsm_mean=None,
                                   dsm_std=None)
    source = RasterInput(per_tile, holes)
    heights = scene['dsm'][~void].astype(np.float64)
    assert source.dsm_stats == pytest.approx((heights.mean(), heights.std()),
                                             rel=1e-4)
    source.close()
    # uint8: nDSM 0 is ground, not nodata.
    ground = scene['dsm'] - scene['dsm'].min()
    eight = np.concatenate([scene['image'], np.round(ground)[None]]).astype(
        np.uint8)
    eight[:, 100:110, 0:30] = 0  # all-zero pixels: nodata
    assert (eight[4] == 0).sum() > 300
    path = write_geotiff(tmp_path / 'eight.tif', eight, nodata=0,
                         descriptions=STACK_BANDS)
    source = RasterInput(spec, path)
    pixels, valid = source.read((0, 0, 150, 130))
    source.close()
    np.testing.assert_array_equal(valid, eight[:4].any(axis=0))
    np.testing.assert_allclose(
        pixels[4][valid], ((eight[4] - spec.dsm_mean) / spec.dsm_std -
                           spec.mean[4])[valid] / spec.std[4], rtol=1e-5,
        atol=1e-5)


def test_height_grid_compared_within_a_fraction_of_a_pixel(tiny_model,
                                                           rasters, scene,
                                                           tmp_path):
    """A pixel size that differs by 1e-12 (a writer's rounding) or an
    origin 1/1000 pixel off is the image's grid; half a pixel is not."""
    from affine import Affine
    size = TRANSFORM.a
    rounded = Affine(size + 1e-12, 0., TRANSFORM.c, 0., -size - 1e-12,
                     TRANSFORM.f)
    assert rounded != TRANSFORM  # what was refused before
    dsm = write_geotiff(tmp_path / 'dsm_rounded.tif', scene['dsm'],
                        transform=rounded)
    result = predict_raster(tiny_model, rasters['image'], str(tmp_path / 'a'),
                            dsm, PredictOptions(**BOUNDED))
    reference = predict_raster(tiny_model, rasters['image'],
                               str(tmp_path / 'b'), rasters['dsm'],
                               PredictOptions(**BOUNDED))
    np.testing.assert_array_equal(_labels(result['paths']['labels']),
                                  _labels(reference['paths']['labels']))
    from mmseg_lanet.apis.raster_input import same_grid
    shape = (150, 130)
    assert same_grid(TRANSFORM, TRANSFORM @ Affine.translation(1e-3, 0),
                     shape)
    assert not same_grid(TRANSFORM, TRANSFORM @ Affine.translation(0.5, 0),
                         shape)
    # A pixel size 1e-4 off is 0.013 px at the far corner of 130 columns.
    assert not same_grid(TRANSFORM, TRANSFORM @ Affine.scale(1 + 1e-4, 1),
                         shape)
    assert same_grid(None, None, shape)
    assert not same_grid(TRANSFORM, None, shape)


@pytest.mark.parametrize('flag', ['bgr_to_rgb', 'rgb_to_bgr'])
def test_channel_flip_of_the_preprocessor_is_honoured(scene, tmp_path, flag):
    """A 3-band config with bgr_to_rgb (or rgb_to_bgr): MMSeg's
    preprocessor reverses the loaded R, G, B before normalising; the raster
    input gives the model the same array. A 5-band input is not flipped,
    as MMSeg does not flip it."""
    from mmengine.config import Config
    from mmseg.models import SegDataPreProcessor
    mean, std = [100., 110., 120.], [30., 40., 50.]
    cfg = Config(dict(model=dict(
        backbone=dict(band_names=('R', 'G', 'B')),
        data_preprocessor=dict(mean=mean, std=std, **{flag: True})),
        test_pipeline=[dict(type='LoadMultiBandImageFromFile')]))
    spec = InputSpec.from_config(cfg)
    assert spec.bands == ('B', 'G', 'R') and spec.mean == mean
    path = write_geotiff(tmp_path / 'rgb.tif', scene['image'][:3],
                         descriptions=('R', 'G', 'B'))
    source = RasterInput(spec, path)
    pixels, _ = source.read((0, 0, 150, 130))
    source.close()
    preprocessor = SegDataPreProcessor(mean=mean, std=std, **{flag: True})
    loaded = torch.from_numpy(scene['image'][:3].astype(np.float32))
    expected = preprocessor(dict(inputs=[loaded]))['inputs'][0]
    np.testing.assert_allclose(pixels, expected.numpy(), rtol=1e-6,
                               atol=1e-5)
    five = Config(dict(model=dict(
        backbone=dict(band_names=STACK_BANDS),
        data_preprocessor=dict(mean=[0.] * 5, std=[1.] * 5, **{flag: True})),
        test_pipeline=[dict(type='LoadMultiBandImageFromFile')]))
    assert InputSpec.from_config(five).bands == STACK_BANDS


def test_compressed_rasters_decoded_once_without_rasterio(
        tiny_model, scene, tmp_path, monkeypatch, tiff_decodes):
    """Without rasterio, a DEFLATE image and its DEFLATE heights are each
    decoded once for a whole prediction (checks, samples and 9 windows),
    and give the map of the same pixels read with rasterio."""
    import tifffile

    import mmseg_lanet.datasets.georaster as georaster
    import mmseg_lanet.datasets.raster_io as raster_io
    image, dsm = str(tmp_path / 'ortho.tif'), str(tmp_path / 'dsm.tif')
    tifffile.imwrite(image, scene['image'].transpose(1, 2, 0),
                     compression='zlib', tile=(64, 64),
                     photometric='minisblack', planarconfig='contig')
    tifffile.imwrite(dsm, scene['dsm'], compression='zlib')
    options = PredictOptions(quicklook=False, file_bands=('R', 'G', 'B',
                                                          'NIR'), **BOUNDED)
    with_rasterio = predict_raster(tiny_model, image, str(tmp_path / 'geo'),
                                   dsm, options)
    tiff_decodes.clear()
    monkeypatch.setattr(georaster, 'rasterio', None)
    result = predict_raster(tiny_model, image, str(tmp_path / 'plain'), dsm,
                            options)
    assert result['windows'] == 9
    assert sorted(tiff_decodes) == sorted([image, dsm])
    np.testing.assert_array_equal(
        raster_io.read_raster(result['paths']['labels']),
        _labels(with_rasterio['paths']['labels']))


def test_probabilities_mask_their_nodata_pixels(tiny_model, rasters, scene,
                                                tmp_path):
    """Every uint8 value of the probabilities is a probability, so their
    nodata mark is GDAL's internal mask (inside the file, no .msk), valid
    where the labels are: a GIS hides the nodata pixels of every band."""
    import rasterio
    from rasterio.enums import MaskFlags
    image = scene['image'].copy()
    image[:, 60:100, 10:50] = 0
    path = write_geotiff(tmp_path / 'holes.tif', image, nodata=0)
    result = predict_raster(tiny_model, path, str(tmp_path / 'out'),
                            rasters['dsm'], PredictOptions(
                                probabilities=True, quicklook=False,
                                **BOUNDED))
    labels = _labels(result['paths']['labels'])
    with rasterio.open(result['paths']['probabilities']) as ds:
        assert all(flags == [MaskFlags.per_dataset]
                   for flags in ds.mask_flag_enums)
        mask = ds.read_masks(1)
        probs = ds.read()
    np.testing.assert_array_equal(mask == 0, labels == 255)
    assert (labels == 255).sum() == 40 * 40
    assert not probs[:, labels == 255].any()
    assert sorted(os.listdir(tmp_path / 'out')) == ['holes.tif',
                                                    'holes_probs.tif']
