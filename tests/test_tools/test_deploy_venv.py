"""The deploy extra alone (numpy, onnxruntime, rasterio in a fresh virtual
environment, made by tools/ci/deploy_venv.sh, which .ci/run runs) predicts
the sample tile with a model exported here: the map of the PyTorch
segmentor."""
import os
import os.path as osp
import subprocess

import pytest

pytest.importorskip('onnx')
rasterio = pytest.importorskip('rasterio')

from _tool_helpers import REPO  # noqa: E402

VENV = os.environ.get('MMSEG_LANET_DEPLOY_VENV')
PYTHON = osp.join(VENV or '', 'bin', 'python')
pytestmark = pytest.mark.skipif(
    not (VENV and osp.isfile(PYTHON)),
    reason='no deploy virtual environment: run bash tools/ci/deploy_venv.sh '
    'VENV and set MMSEG_LANET_DEPLOY_VENV=VENV (.ci/run does)')
TINY_MODEL = [
    'model.backbone.stem_channels=8', 'model.backbone.base_channels=8',
    'model.decode_head.in_channels=[8,64]', 'model.decode_head.channels=16',
    'model.decode_head.low_channels=8'
]


def test_sample_tile_maps_in_the_deploy_venv(sample_root, tmp_path):
    from mmengine.config import Config
    from _tool_helpers import SAMPLE_CONFIG
    from benchmarks.predict_benchmark import save_random_checkpoint
    from mmseg_lanet.apis import PredictOptions, predict_raster
    from mmseg_lanet.apis.segmentor_loading import load_segmentor
    from mmseg_lanet.deploy.export import export_onnx
    # The package installed in the venv, not this checkout.
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    listed = subprocess.run(
        [PYTHON, '-c', 'import importlib.util as u; print([m for m in '
         '("torch", "mmcv", "mmengine", "mmseg", "cv2", "tifffile") '
         'if u.find_spec(m)])'], capture_output=True, text=True, check=True,
        env=env)
    assert listed.stdout.strip() == '[]'  # the deploy extra only
    cfg = Config.fromfile(SAMPLE_CONFIG)
    cfg.merge_from_dict({k: eval(v) for k, v in (
        option.split('=') for option in TINY_MODEL)})
    checkpoint = save_random_checkpoint('tiny', str(tmp_path / 'tiny.pth'))
    model = str(tmp_path / 'tiny.onnx')
    export_onnx(cfg, checkpoint, model, check_sizes=[(128, 128)],
                log=lambda *args: None)
    image = osp.join(sample_root, 'img_dir', 'val', '2_13.tif')
    dsm = osp.join(sample_root, 'dsm_dir', 'val', '2_13.tif')
    run = subprocess.run(
        [PYTHON, osp.join(REPO, 'tools', 'predict.py'), model, image, '--dsm',
         dsm, '--out-dir', str(tmp_path / 'maps'), '--mode', 'bounded',
         '--window', '128'],
        capture_output=True, text=True, cwd=str(tmp_path), env=env,
        timeout=300)
    assert run.returncode == 0, run.stderr
    assert '(bounded, 16 window(s) predicted, 0 all nodata)' in run.stdout
    reference = predict_raster(
        load_segmentor(cfg, checkpoint), image, str(tmp_path / 'torch'), dsm,
        PredictOptions(mode='bounded', window=(128, 128), quicklook=False))
    with rasterio.open(str(tmp_path / 'maps' / '2_13.tif')) as ds, \
            rasterio.open(reference['paths']['labels']) as ref:
        labels, expected = ds.read(1), ref.read(1)
    assert labels.shape == (320, 320)
    assert (labels == expected).mean() >= 0.999
    assert sorted(os.listdir(tmp_path / 'maps')) == ['2_13.tif',
                                                      '2_13_colour.png']
