"""tools/predict.py MODEL.onnx INPUT... where torch, mmcv, mmengine and
mmseg cannot be imported: the same maps as in-process, bad input in one
line naming the file and nothing under a final name."""
import os
import os.path as osp

import numpy as np
import pytest

pytest.importorskip('onnxruntime')
pytest.importorskip('onnx')
rasterio = pytest.importorskip('rasterio')

from _onnx_models import (conv_model, export_onnx, metadata,  # noqa: E402
                          raw_bands_model)
from _tool_helpers import REPO  # noqa: E402
from _without_torch import run_without_torch  # noqa: E402

PREDICT = osp.join(REPO, 'tools', 'predict.py')
# tools/predict.py as __main__, then the modules of torch and OpenMMLab that
# got imported (none expected).
RUN_TOOL = f'''
import runpy
sys.argv[0] = {PREDICT!r}
try:
    runpy.run_path({PREDICT!r}, run_name='__main__')
finally:
    print('imported:', sorted(m for m, module in sys.modules.items()
                              if m.split('.')[0] in BLOCKED and module))
'''
BANDS = ('R', 'G', 'B', 'NIR')
MEAN, STD = (100., 90., 80., 120.), (50., 40., 30., 60.)


@pytest.fixture(scope='module')
def ortho(tmp_path_factory):
    """A 4-band UTM GeoTIFF with a nodata corner, and an exported model."""
    from rasterio.crs import CRS
    from rasterio.transform import from_origin
    folder = tmp_path_factory.mktemp('onnx_tool')
    image = np.random.default_rng(0).integers(1, 255, (4, 70, 90), np.uint8)
    image[:, :20, :25] = 0
    path = str(folder / 'ortho.tif')
    with rasterio.open(path, 'w', driver='GTiff', height=70, width=90,
                       count=4, dtype='uint8', nodata=0,
                       crs=CRS.from_epsg(32633),
                       transform=from_origin(368000., 5808000., .05, .05)
                       ) as ds:
        ds.write(image)
        ds.descriptions = BANDS
    model = export_onnx(folder / 'conv.onnx',
                        raw_bands_model(conv_model(4, 6), MEAN, STD),
                        metadata(BANDS, MEAN, STD, 6, window=[32, 32]),
                        (1, 4, 32, 32))
    return dict(folder=folder, image=path, model=model)


def test_maps_without_torch_equal_in_process_ones(ortho, tmp_path):
    from mmseg_lanet.apis import PredictOptions, predict_raster
    from mmseg_lanet.inference.onnx_predict import OnnxSegmentor
    out = tmp_path / 'maps'
    args = (ortho['model'], ortho['image'], '--out-dir', str(out),
            '--mode', 'bounded', '--probabilities')
    run = run_without_torch(RUN_TOOL, *args)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == 'imported: []', run.stdout
    assert (f'{ortho["image"]} -> {out / "ortho.tif"} (bounded, 12 '
            'window(s) predicted, 0 all nodata)') in run.stdout
    assert sorted(os.listdir(out)) == ['ortho.tif', 'ortho_colour.png',
                                       'ortho_probs.tif']
    reference = predict_raster(
        OnnxSegmentor(ortho['model']), ortho['image'], str(tmp_path / 'ref'),
        options=PredictOptions(mode='bounded', window=(32, 32),
                               probabilities=True))
    for key in ('labels', 'probabilities'):
        with rasterio.open(str(out / osp.basename(
                reference['paths'][key]))) as ds, \
                rasterio.open(reference['paths'][key]) as ref:
            assert (ds.crs, ds.transform) == (ref.crs, ref.transform)
            np.testing.assert_array_equal(ds.read(), ref.read())
            if key == 'labels':
                labels = ds.read(1)
    assert (labels[:20, :25] == 255).all() and labels[20:].max() <= 5
    assert len(np.unique(labels[20:])) > 1
    # A rerun skips the finished map.
    rerun = run_without_torch(RUN_TOOL, *args)
    assert '(already done)' in rerun.stdout, rerun.stderr


def test_bad_input_is_one_line_and_leaves_no_map(ortho, tmp_path):
    alien = export_onnx(tmp_path / 'alien.onnx', conv_model(4, 6), None,
                        (1, 4, 32, 32))
    five_bands = export_onnx(
        tmp_path / 'five.onnx',
        raw_bands_model(conv_model(5, 6), MEAN + (0., ), STD + (1., )),
        metadata(BANDS + ('nDSM', ), MEAN + (0., ), STD + (1., ), 6),
        (1, 5, 32, 32))
    # A model that cannot be used stops the run (exit 2); a raster that does
    # not fit it fails alone (exit 1, after the other rasters).
    cases = [
        (alien, 2, f'{alien}: an ONNX model without mmseg_lanet metadata '
         '(not exported by tools/deployment/export_onnx.py)'),
        (five_bands, 1, f"failed: {ortho['image']}: the model takes band "
         "'nDSM'; give its height raster with --dsm"),
    ]
    for model, code, message in cases:
        out = tmp_path / ('maps_' + osp.basename(model))
        run = run_without_torch(RUN_TOOL, model, ortho['image'],
                                '--out-dir', str(out))
        lines = run.stderr.strip().splitlines()
        assert run.returncode == code, run.stderr
        assert len(lines) == 1 and lines[0].startswith(
            f'predict.py: error: {message}'), run.stderr
        assert not out.exists() or [
            p for p in os.listdir(out) if not p.startswith('.')] == []


def test_distributed_prediction_without_torch_says_what_to_install(
        ortho, tmp_path):
    # tools/dist_predict.sh MODEL.onnx in an environment with the deploy
    # extra only: its processes cannot form their group.
    out = tmp_path / 'maps'
    run = run_without_torch(RUN_TOOL, ortho['model'], ortho['image'],
                            '--out-dir', str(out), '--launcher', 'pytorch')
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == (
        'predict.py: error: --launcher pytorch: the processes of a '
        'distributed prediction share the inputs out through '
        'torch.distributed (gloo), and torch is not installed here; install '
        'torch (its CPU build is enough), or run tools/predict.py once per '
        'share of the inputs')
    assert not out.exists()

