"""tools/dist_predict.sh and tools/slurm_predict.sh: maps of a folder of
rasters by 2 processes, equal to one process's, a damaged raster reported
while the others go on, a rerun with another number of processes that
predicts only what is missing, and the VRT mosaic of the maps."""
import os
import os.path as osp
import signal
import subprocess
import time

import numpy as np
import pytest

from _tool_helpers import REPO, SAMPLE_CONFIG, free_port, run
from test_clusters import _slurm_missing

rasterio = pytest.importorskip('rasterio')

pytestmark = pytest.mark.cluster

TOOLS = osp.join(REPO, 'tools')
TINY_MODEL = [
    'model.backbone.stem_channels=8', 'model.backbone.base_channels=8',
    'model.decode_head.in_channels=[8,64]', 'model.decode_head.channels=16',
    'model.decode_head.low_channels=8'
]
# Tiles of one scene: (rows, columns, column, row) on its grid.
TILES = [(96, 128, 0, 0), (64, 64, 128, 0), (128, 96, 0, 96),
         (80, 112, 96, 96)]


@pytest.fixture(scope='module')
def region(tmp_path_factory):
    """Four georeferenced tiles (image and nDSM) of one scene, a damaged
    file among them, and a tiny model's checkpoint."""
    from rasterio.windows import Window, transform
    from benchmarks.predict_benchmark import save_random_checkpoint
    from test_apis._raster_helpers import (TRANSFORM, synthetic_scene,
                                           write_geotiff)
    root = tmp_path_factory.mktemp('region')
    images, dsms = root / 'images', root / 'dsm'
    images.mkdir()
    dsms.mkdir()
    scene = synthetic_scene(256, 256, seed=0)
    for i, (h, w, col, row) in enumerate(TILES):
        geo = dict(transform=transform(Window(col, row, w, h), TRANSFORM))
        write_geotiff(images / f't{i}.tif',
                      scene['image'][:, row:row + h, col:col + w].copy(),
                      **geo)
        write_geotiff(dsms / f't{i}.tif',
                      scene['dsm'][row:row + h, col:col + w].copy(), **geo)
    for folder in (images, dsms):
        (folder / 't4_damaged.tif').write_bytes(b'II*\x00not a raster')
    ckpt = save_random_checkpoint('tiny', str(root / 'tiny.pth'))
    return root, ckpt


def _labels(path):
    with rasterio.open(path) as ds:
        return ds.read(1)


def _dist_predict(root, ckpt, nproc, out, inputs=('images', )):
    return run(['bash', osp.join(TOOLS, 'dist_predict.sh'), SAMPLE_CONFIG,
                ckpt, str(nproc), *inputs, '--dsm', 'dsm', '--out-dir', out,
                '--cfg-options', *TINY_MODEL], str(root),
               env={'PORT': free_port(), 'OMP_NUM_THREADS': '1'})


def _one_process(folder, ckpt, args):
    """tools/predict.py's maps in this process, with one thread as each of
    the launched processes: ``folder/one``."""
    import torch
    from mmseg_lanet.apis.predict_cli import predict
    cwd, threads = os.getcwd(), torch.get_num_threads()
    os.chdir(folder)
    torch.set_num_threads(1)
    try:
        results = predict([SAMPLE_CONFIG, ckpt, *args, '--out-dir', 'one'])
    finally:
        torch.set_num_threads(threads)
        os.chdir(cwd)
    assert {r['status'] for r in results} == {'done'}
    return folder / 'one'


@pytest.fixture(scope='module')
def one(region):
    """One process's maps of the region's good tiles."""
    root, ckpt = region
    return _one_process(root, ckpt, [
        *[f'images/t{i}.tif' for i in range(4)], '--dsm', 'dsm', '--device',
        'cpu', '--cfg-options', *TINY_MODEL])


def test_two_processes_map_a_folder_then_rerun(region, one):
    root, ckpt = region
    code, log = _dist_predict(root, ckpt, 2, 'two')
    assert code == 1, log[-3000:]
    assert 'terminate called' not in log
    assert ('predict.py: error: failed: images/t4_damaged.tif: not a '
            'raster file') in log
    assert ('5 raster(s): 4 map(s) written, 0 skipped (already done), 1 '
            'failed; 2 process(es), 37632 pixels predicted in ') in log
    assert '4 map(s) -> two/mosaic.vrt (one layer in a GIS)' in log
    names = sorted(os.listdir(root / 'two'))
    assert names == ['mosaic.vrt'] + [f't{i}{s}' for i in range(4)
                                      for s in ('.tif', '_colour.png')]

    # The same maps as one process's.
    for i in range(4):
        np.testing.assert_array_equal(_labels(root / 'two' / f't{i}.tif'),
                                      _labels(one / f't{i}.tif'))

    with rasterio.open(root / 'two' / 'mosaic.vrt') as ds:
        mosaic = ds.read(1)
        assert ds.colormap(1)[1] == (0, 0, 255, 255)  # ISPRS building
    for i, (h, w, col, row) in enumerate(TILES):
        np.testing.assert_array_equal(mosaic[row:row + h, col:col + w],
                                      _labels(root / 'two' / f't{i}.tif'))

    # A rerun, with 1 process, predicts only the map that went missing.
    os.remove(root / 'two' / 't2.tif')
    code, log = _dist_predict(root, ckpt, 1, 'two', [
        f'images/t{i}.tif' for i in range(4)])
    assert code == 0, log[-3000:]
    assert ('4 raster(s): 1 map(s) written, 3 skipped (already done), 0 '
            'failed; 1 process(es), 12288 pixels predicted in ') in log
    np.testing.assert_array_equal(_labels(root / 'two' / 't2.tif'),
                                  _labels(one / 't2.tif'))
    assert not [n for n in os.listdir(root / 'two') if n.startswith('.')]


@pytest.mark.parametrize('nproc, env, message', [
    ('0', {}, 'NPROC must be a whole number (NPROC and NNODES at least 1), '
     "got '0'"),
    ('two', {}, "NPROC must be a whole number (NPROC and NNODES at least 1), "
     "got 'two'"),
    ('2', {'NNODES': '2', 'NODE_RANK': '2'},
     'NODE_RANK 2 is not below NNODES 2'),
])
def test_launcher_refuses_bad_process_counts(tmp_path, nproc, env, message):
    code, log = run(['bash', osp.join(TOOLS, 'dist_predict.sh'),
                     SAMPLE_CONFIG, 'x.pth', nproc, 'images', '--out-dir',
                     'out'], str(tmp_path), env=env)
    assert code == 2
    assert log.strip().endswith(message), log
    assert not (tmp_path / 'out').exists()


def test_slurm_tasks_map_a_folder(region):
    reason = _slurm_missing()
    if reason is not None:
        pytest.skip(reason)
    root, ckpt = region
    env = dict(GPUS='2', GPUS_PER_NODE='2', CPUS_PER_TASK='1', GRES='none',
               PORT=free_port())
    code, log = run(['bash', osp.join(TOOLS, 'slurm_predict.sh'),
                     os.environ.get('SLURM_PARTITION', 'ci'), 'pytest',
                     SAMPLE_CONFIG, ckpt, 'images/t0.tif', 'images/t1.tif',
                     '--dsm', 'dsm', '--out-dir', 'slurm', '--cfg-options',
                     *TINY_MODEL], str(root), env=env)
    assert code == 0, log[-3000:]
    assert ('2 raster(s): 2 map(s) written, 0 skipped (already done), 0 '
            'failed; 2 process(es), 16384 pixels predicted in ') in log
    assert osp.isfile(root / 'slurm' / 'mosaic.vrt')


def test_small_benchmark(tmp_path, capsys):
    # benchmark_dist_predict in a small mode: the structure of its figures
    # (the real ones are in docs/user_guides/train_test.md).
    import sys
    sys.path.insert(0, osp.join(TOOLS, 'analysis_tools'))
    import benchmark_dist_predict
    rows = benchmark_dist_predict.main([
        '--work-dir', str(tmp_path), '--count', '3', '--size', '64',
        '--model', 'tiny', '--threads', '1', '--repeat', '1'
    ])
    assert [r['name'] for r in rows] == [
        'dist_predict.sh 2, 1 thread each', 'predict.py, 1 thread',
        'dist_predict.sh 1, 1 thread'
    ]
    assert [r['different_pixels'] for r in rows] == [0, 0, 0]
    assert all(r['seconds'] > 0 for r in rows)
    assert [r['predicting'] is None for r in rows] == [False, True, False]
    assert sorted(os.listdir(tmp_path / 'rasters_64' / 'images')) == [
        'tile_0.tif', 'tile_1.tif', 'tile_2.tif']
    out = capsys.readouterr().out
    assert ('3 rasters of 64 x 64 pixels (medians, command / predicting):'
            in out)
    assert '2 processes / 1 process of 1 thread: ' in out
    assert '1 process of 2 threads' not in out


def test_two_launchers_side_by_side_share_a_folder(region, one):
    # Neither is given a port: each finds its own, so they never meet in
    # one rendezvous. Both map the same tiles into one folder; every map
    # there is whole, with no temporary file left.
    root, ckpt = region
    env = {k: v for k, v in os.environ.items()
           if k not in ('PORT', 'MASTER_PORT')}
    env.update(OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    command = ['bash', osp.join(TOOLS, 'dist_predict.sh'), SAMPLE_CONFIG,
               ckpt, '1', *[f'images/t{i}.tif' for i in range(4)], '--dsm',
               'dsm', '--out-dir', 'shared', '--cfg-options', *TINY_MODEL]
    launchers = [
        subprocess.Popen(command, cwd=root, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    logs = [launcher.communicate(timeout=300)[0] for launcher in launchers]
    assert [launcher.returncode for launcher in launchers] == [0, 0], logs
    assert sorted(os.listdir(root / 'shared')) == ['mosaic.vrt'] + [
        f't{i}{s}' for i in range(4) for s in ('.tif', '_colour.png')]
    for i in range(4):
        np.testing.assert_array_equal(_labels(root / 'shared' / f't{i}.tif'),
                                      _labels(one / f't{i}.tif'))


def test_two_nodes_on_loopback_map_one_folder(region, one):
    # One launcher a node, one process each: one job of 2 ranks.
    root, ckpt = region
    port = free_port()
    launchers = []
    for node in (1, 0):
        env = dict(os.environ, NNODES='2', NODE_RANK=str(node),
                   MASTER_ADDR='127.0.0.1', PORT=port, OMP_NUM_THREADS='1',
                   PYTHONUNBUFFERED='1')
        launchers.append(subprocess.Popen(
            ['bash', osp.join(TOOLS, 'dist_predict.sh'), SAMPLE_CONFIG, ckpt,
             '1', *[f'images/t{i}.tif' for i in range(4)], '--dsm', 'dsm',
             '--out-dir', 'nodes', '--cfg-options', *TINY_MODEL],
            cwd=root, env=env, text=True, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT))
    logs = [launcher.communicate(timeout=300)[0] for launcher in launchers]
    assert [launcher.returncode for launcher in launchers] == [0, 0], logs
    assert ('4 raster(s): 4 map(s) written, 0 skipped (already done), 0 '
            'failed; 2 process(es)') in logs[1]  # node 0 holds rank 0
    assert logs[0].count(' -> nodes/t') == 2  # node 1 mapped its share
    for i in range(4):
        np.testing.assert_array_equal(_labels(root / 'nodes' / f't{i}.tif'),
                                      _labels(one / f't{i}.tif'))


def test_an_onnx_model_maps_a_folder_with_two_processes(region, tmp_path):
    # tools/dist_predict.sh MODEL.onnx NPROC ...: onnxruntime in each
    # process (one thread each), the maps of one process.
    pytest.importorskip('onnxruntime')
    pytest.importorskip('onnx')
    from _onnx_models import (conv_model, export_onnx, metadata,
                              raw_bands_model)
    from mmseg_lanet.apis.predict_cli import predict
    root, _ = region
    bands, mean, std = ('R', 'G', 'B', 'NIR'), (100., 90., 80.,
                                                120.), (50., 40., 30., 60.)
    model = export_onnx(tmp_path / 'conv.onnx',
                        raw_bands_model(conv_model(4, 6), mean, std),
                        metadata(bands, mean, std, 6, window=[32, 32]),
                        (1, 4, 32, 32))
    tiles = [str(root / 'images' / f't{i}.tif') for i in range(4)]
    code, log = run(['bash', osp.join(TOOLS, 'dist_predict.sh'), model, '2',
                     *tiles, '--out-dir', 'two'], str(tmp_path),
                    env={'PORT': free_port(), 'OMP_NUM_THREADS': '1'})
    assert code == 0, log[-3000:]
    assert ('4 raster(s): 4 map(s) written, 0 skipped (already done), 0 '
            'failed; 2 process(es)') in log
    predict([model, *tiles, '--out-dir', str(tmp_path / 'one')])
    for i in range(4):
        np.testing.assert_array_equal(
            _labels(tmp_path / 'two' / f't{i}.tif'),
            _labels(tmp_path / 'one' / f't{i}.tif'))


def test_a_killed_process_loses_no_map_and_a_rerun_completes_the_set(
        region):
    from test_apis._raster_helpers import synthetic_scene, write_geotiff
    root, ckpt = region
    folder = root / 'kill'
    (folder / 'images').mkdir(parents=True)
    (folder / 'dsm').mkdir()
    for i in range(4):
        scene = synthetic_scene(192, 192, seed=10 + i)
        write_geotiff(folder / 'images' / f'k{i}.tif', scene['image'])
        write_geotiff(folder / 'dsm' / f'k{i}.tif', scene['dsm'])
    # Small windows at a small stride: long enough a map to kill its
    # process while it is being written.
    args = ['images', '--dsm', 'dsm', '--mode', 'bounded', '--window', '64',
            '--stride', '8', '--no-quicklook', '--device', 'cpu', '--cfg-options', *TINY_MODEL]
    command = ['bash', osp.join(TOOLS, 'dist_predict.sh'), SAMPLE_CONFIG,
               ckpt, '2', *args, '--out-dir', 'out']
    env = dict(os.environ, PORT=free_port(), OMP_NUM_THREADS='1')
    launcher = subprocess.Popen(command, cwd=folder, env=env,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    out, deadline, partial = folder / 'out', time.monotonic() + 120, None
    while partial is None and launcher.poll() is None and (
            time.monotonic() < deadline):
        names = os.listdir(out) if out.is_dir() else []
        partial = next((n for n in names if '.partial-' in n), None)
        time.sleep(0.005)
    assert partial is not None, launcher.communicate()[0][-3000:]
    killed = int(partial.split('.partial-')[1].split('-')[0])
    os.kill(killed, signal.SIGKILL)
    log = launcher.communicate(timeout=120)[0]

    assert launcher.returncode == 128 + signal.SIGKILL, log[-3000:]
    assert (f'(pid {killed}) exited with status 137; stopping the other '
            'processes') in log
    assert ' Killed ' not in log  # bash's notice, repeating the command
    # The process told to stop dropped its unfinished map: only the killed
    # one's temporary file is left, under a hidden name.
    hidden = [n for n in os.listdir(out) if n.startswith('.')]
    assert hidden and all(f'.partial-{killed}-' in n for n in hidden), hidden
    finished = sorted(n for n in os.listdir(out)
                      if n.endswith('.tif') and not n.startswith('.'))
    assert len(finished) < 4

    # Every map under its final name is whole: equal to one process's.
    reference = _one_process(folder, ckpt, args)
    for name in finished:
        np.testing.assert_array_equal(_labels(out / name),
                                      _labels(reference / name))

    # A rerun predicts the rest, past the killed process's leftover.
    code, log = run(command, str(folder), env={'PORT': free_port(),
                                               'OMP_NUM_THREADS': '1'})
    assert code == 0, log[-3000:]
    assert (f'4 raster(s): {4 - len(finished)} map(s) written, '
            f'{len(finished)} skipped (already done), 0 failed; 2 '
            'process(es)') in log
    for i in range(4):
        np.testing.assert_array_equal(_labels(out / f'k{i}.tif'),
                                      _labels(reference / f'k{i}.tif'))
    assert osp.isfile(out / 'mosaic.vrt')
