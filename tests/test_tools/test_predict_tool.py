"""tools/predict.py on a folder of GeoTIFFs, then rerun; tools/test.py in the
'blend' mode with a confusion matrix picture."""
import os
import os.path as osp
import re

import numpy as np
import pytest

from _tool_helpers import REPO, SAMPLE_CONFIG, python, run_ok

rasterio = pytest.importorskip('rasterio')

PREDICT = osp.join(REPO, 'tools', 'predict.py')
TEST = osp.join(REPO, 'tools', 'test.py')
TINY_MODEL = [
    'model.backbone.stem_channels=8', 'model.backbone.base_channels=8',
    'model.decode_head.in_channels=[8,64]', 'model.decode_head.channels=16',
    'model.decode_head.low_channels=8'
]


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    from benchmarks.predict_benchmark import save_random_checkpoint
    folder = tmp_path_factory.mktemp('ckpt')
    return save_random_checkpoint('tiny', str(folder / 'tiny.pth'))


def test_predict_folder_then_rerun(checkpoint, sample_root, tmp_path):
    from rasterio.crs import CRS
    from rasterio.transform import from_origin
    from mmseg_lanet.datasets.raster_io import read_raster
    images, dsms = tmp_path / 'images', tmp_path / 'dsm'
    images.mkdir()
    dsms.mkdir()
    geo = dict(crs=CRS.from_epsg(32633),
               transform=from_origin(368000., 5808000., 0.05, 0.05))
    for name in ('2_13', '4_14'):
        for folder, sub in ((images, 'img_dir'), (dsms, 'dsm_dir')):
            array = read_raster(osp.join(sample_root, sub, 'val',
                                         f'{name}.tif'))
            array = array[None] if array.ndim == 2 else array.transpose(
                2, 0, 1)
            with rasterio.open(str(folder / f'{name}.tif'), 'w',
                               driver='GTiff', height=array.shape[1],
                               width=array.shape[2], count=array.shape[0],
                               dtype=array.dtype, **geo) as ds:
                ds.write(array)
    out = tmp_path / 'maps'
    args = python(PREDICT, SAMPLE_CONFIG, checkpoint, str(images), '--dsm',
                  str(dsms), '--out-dir', str(out), '--device', 'cpu',
                  '--mode', 'bounded', '--window', '128', '--stride', '96',
                  '--batch-size', '4', '--cfg-options', *TINY_MODEL)
    log = run_ok(args, cwd=str(tmp_path))
    assert 'bounded, 9 window(s) predicted, 0 all nodata' in log, log
    assert sorted(os.listdir(out)) == ['2_13.tif', '2_13_colour.png',
                                       '4_14.tif', '4_14_colour.png']
    with rasterio.open(str(out / '2_13.tif')) as ds:
        assert ds.crs == geo['crs'] and ds.transform == geo['transform']
        assert ds.shape == (320, 320) and ds.nodata == 255
        assert ds.read(1).max() <= 5
    log = run_ok(args, cwd=str(tmp_path))
    assert log.count('(already done)\n') == 2
    assert ('2 raster(s): 0 map(s) written, 2 skipped (already done), 0 '
            'failed\n') in log


def test_default_stride_is_the_options_default(checkpoint, tmp_path,
                                               monkeypatch):
    """Without --stride the tool predicts with PredictOptions' default for
    its window (2/3 of it, rounded down), defined once; --stride wins."""
    import mmseg_lanet.apis.predict_cli as predict_cli
    from mmseg_lanet.apis import PredictOptions
    from mmseg_lanet.apis.raster_inference import default_stride
    from mmseg_lanet.apis.predict_cli import predict
    built = []

    class Capture:

        def __init__(self, cfg, weights, device, options):
            built.append(options)

        def __call__(self, *args):
            return []

    monkeypatch.setattr(predict_cli, 'RasterInferencer', Capture)
    common = [SAMPLE_CONFIG, checkpoint, str(tmp_path), '--out-dir',
              str(tmp_path / 'out'), '--device', 'cpu']
    predict(common)
    predict(common + ['--window', '512'])
    predict(common + ['--window', '512', '--stride', '300', '400'])
    assert [(o.window, o.stride) for o in built] == [
        ((256, 256), (170, 170)), ((512, 512), (341, 341)),
        ((512, 512), (300, 400))]
    assert PredictOptions().stride == default_stride((512, 512)) == (341,
                                                                      341)
    assert PredictOptions(window=(256, 100)).stride == (170, 66)


def test_test_tool_blend_mode_and_confusion_matrix(checkpoint, sample_root,
                                                   tmp_path):
    import cv2
    png = tmp_path / 'confusion.png'
    log = run_ok(python(
        TEST, SAMPLE_CONFIG, checkpoint, '--work-dir', str(tmp_path),
        '--confusion-matrix', str(png), '--cfg-options', *TINY_MODEL,
        f'test_dataloader.dataset.data_root={sample_root}',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        'model.test_cfg.mode=blend', 'model.test_cfg.crop_size=(128,128)',
        'model.test_cfg.stride=(96,96)', 'model.test_cfg.batch_size=4',
        '--amp'),
        cwd=str(tmp_path))
    assert 'Iter(test)' in log and ' OA: ' in log
    # --amp: mmengine's TestLoop runs the test steps under autocast.
    dumped, = tmp_path.glob('*.py')
    assert "test_cfg = dict(fp16=True, type='TestLoop')" in dumped.read_text()
    picture = cv2.imread(str(png))
    assert picture is not None and np.prod(picture.shape[:2]) > 300 * 300


def _cli_error(capsys, *args, code=2):
    from mmseg_lanet.apis.predict_cli import predict
    with pytest.raises(SystemExit) as exit_info:
        predict([SAMPLE_CONFIG, *args, '--device', 'cpu', '--cfg-options',
                 *TINY_MODEL])
    assert exit_info.value.code == code
    err = capsys.readouterr().err
    assert 'Traceback' not in err and len(err.strip().splitlines()) == 1
    return err


def test_bad_input_is_one_line_naming_the_file(checkpoint, tmp_path,
                                               capsys):
    """No traceback for a user's mistake: the tool's one-line error."""
    empty = tmp_path / 'empty'
    empty.mkdir()
    out = str(tmp_path / 'out')
    err = _cli_error(capsys, str(tmp_path / 'no.pth'), str(empty),
                     '--out-dir', out)
    assert f': error: checkpoint not found: {tmp_path / "no.pth"}' in err
    err = _cli_error(capsys, checkpoint, str(empty), '--out-dir', out)
    assert f': error: {empty}: folder holds no raster file' in err
    # A raster that fails is reported as it goes (exit 1 at the end).
    text = tmp_path / 'notes.tif'
    text.write_text('not a raster')
    err = _cli_error(capsys, checkpoint, str(text), '--out-dir', out,
                     code=1)
    assert f': error: failed: {text}: not a raster file' in err


def test_input_warnings_are_one_line(checkpoint, tmp_path, capsys):
    """The plugin's warnings about the input read as its errors do: one
    line naming the file, without Python's source location."""
    from benchmarks.predict_benchmark import write_test_rasters
    from mmseg_lanet.apis.predict_cli import predict
    rasters = write_test_rasters(str(tmp_path), 96)
    predict([SAMPLE_CONFIG, checkpoint, rasters['image'], '--dsm',
             rasters['dsm'], '--out-dir', str(tmp_path / 'maps'), '--device',
             'cpu', '--cfg-options', *TINY_MODEL])
    lines = [ln for ln in capsys.readouterr().err.splitlines()
             if 'warning' in ln.lower()]
    # (The program name is the running script's: pytest's here.)
    ours = [ln.split(': warning: ', 1)[1] for ln in lines
            if ': warning: ' in ln]
    assert ours == [
        f'{rasters["image"]}: no band names in the file (band '
        "descriptions); reading its bands as R G B NIR, the model's order; "
        'name them with --bands if they differ']
    assert not any('raster_input.py' in ln for ln in lines)



def test_damaged_raster_is_one_line_and_the_run_goes_on(
        checkpoint, tmp_path, capsys, damage_tile):
    """A folder of two GeoTIFFs, one with a damaged JPEG tile: one error
    line names it and the window, the other map is written, a summary
    ends the run and the exit status is 1."""
    from rasterio.crs import CRS
    from rasterio.transform import from_origin
    from mmseg_lanet.apis.predict_cli import predict
    images, dsms = tmp_path / 'images', tmp_path / 'dsm'
    out = tmp_path / 'maps'
    images.mkdir()
    dsms.mkdir()
    rng = np.random.default_rng(0)
    geo = dict(driver='GTiff', height=96, width=96, crs=CRS.from_epsg(32633),
               transform=from_origin(368000., 5808000., 0.05, 0.05))
    for name in ('bad', 'good'):
        with rasterio.open(str(images / f'{name}.tif'), 'w', count=4,
                           dtype='uint8', tiled=True, blockxsize=32,
                           blockysize=32, compress='jpeg',
                           photometric='MINISBLACK', **geo) as ds:
            ds.write(rng.integers(0, 255, (4, 96, 96), dtype=np.uint8))
        with rasterio.open(str(dsms / f'{name}.tif'), 'w', count=1,
                           dtype='float32', **geo) as ds:
            ds.write(rng.uniform(0, 20, (1, 96, 96)).astype(np.float32))
    damage_tile(images / 'bad.tif', 4)
    with pytest.raises(SystemExit) as exit_info:
        predict([SAMPLE_CONFIG, checkpoint, str(images), '--dsm', str(dsms),
                 '--out-dir', str(out), '--device', 'cpu', '--bands', 'R',
                 'G', 'B', 'NIR', '--cfg-options', *TINY_MODEL])
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert 'Traceback' not in captured.err
    errors = [ln for ln in captured.err.splitlines() if ': error: ' in ln]
    assert len(errors) == 1
    assert re.search(
        f': error: failed: {re.escape(str(images / "bad.tif"))}: window '
        r'\(row 0, col 0, 96 x 96\) cannot be read \(.+\); the file may be '
        'damaged or truncated$', errors[0]), errors[0]
    lines = captured.out.splitlines()
    assert lines[-1] == ('2 raster(s): 1 map(s) written, 0 skipped (already '
                         'done), 1 failed')
    assert f'{images / "good.tif"} -> {out / "good.tif"} (whole' in lines[-2]
    assert sorted(os.listdir(out)) == ['good.tif', 'good_colour.png']

@pytest.mark.parametrize('flags,message', [
    (['--device', 'gpu'],
     "device 'gpu': not a torch device; use cpu, cuda or cuda:N"),
    (['--batch-size', '0'], 'batch size must be >= 1, got 0'),
    (['--max-memory', '-1'], 'max memory must be > 0 GiB, got -1'),
    (['--mode', 'bounded', '--window', '200', '--stride', '250'],
     'stride (250, 250) must be positive and at most the window '
     '(200, 200)'),
])
def test_bad_options_are_one_line_before_loading(checkpoint, tmp_path,
                                                 capsys, flags, message):
    """Options and devices are checked before the model is built or any
    raster read (the input does not exist here)."""
    from mmseg_lanet.apis.predict_cli import predict
    with pytest.raises(SystemExit) as exit_info:
        predict([SAMPLE_CONFIG, checkpoint, str(tmp_path / 'absent.tif'),
                 '--out-dir', str(tmp_path / 'out'), *flags])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert 'Traceback' not in err and len(err.strip().splitlines()) == 1
    assert err.strip().endswith(f': error: {message}')
    assert not osp.exists(tmp_path / 'out')


def test_launcher_without_its_variables_is_one_line(checkpoint, tmp_path,
                                                   capsys, monkeypatch):
    # tools/predict.py --launcher pytorch run by hand, not by a launcher.
    from mmseg_lanet.apis.predict_cli import predict
    for name in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    with pytest.raises(SystemExit) as exit_info:
        predict([SAMPLE_CONFIG, checkpoint, str(tmp_path / 'a.tif'),
                 '--out-dir', str(tmp_path / 'out'), '--launcher', 'pytorch'])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.endswith(
        ': error: --launcher pytorch expects its launcher to set RANK, '
        'WORLD_SIZE, MASTER_PORT; start the run with tools/dist_predict.sh '
        '(or slurm_predict.sh, torchrun)'), err
    assert not osp.exists(tmp_path / 'out')


def test_cuda_device_this_machine_lacks(monkeypatch):
    import torch
    from mmseg_lanet.apis.segmentor_loading import check_device
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(ValueError, match=re.escape(
            "device 'cuda': CUDA is not available here (torch "
            f'{torch.__version__}); use cpu')):
        check_device('cuda')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
    with pytest.raises(ValueError, match=(
            "^device 'cuda:2': this machine has 2 CUDA device\\(s\\), "
            'cuda:0 to cuda:1$')):
        check_device('cuda:2')
    assert check_device('cuda:1') == torch.device('cuda', 1)
    assert check_device('cpu') == torch.device('cpu')
