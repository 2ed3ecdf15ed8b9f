"""train -> test -> --amp -> torchrun/NCCL on one GPU, on the synthetic
sample, and tools/predict.py on a GPU against the CPU. Skipped without
CUDA; run them alone with ``pytest -m gpu``."""
import os.path as osp

import pytest
import torch

from _tool_helpers import (REPO, SAMPLE_CONFIG, final_metrics, free_port,
                           python, run_ok, tiny_options)

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
]
TRAIN = osp.join(REPO, 'tools', 'train.py')
TEST = osp.join(REPO, 'tools', 'test.py')


def train_lines(log):
    lines = [ln for ln in log.splitlines() if 'Iter(train)' in ln]
    assert lines, log[-3000:]
    return lines


def test_train_test_and_amp_on_gpu(sample_root, tmp_path):
    work_dir = str(tmp_path)
    options = tiny_options(sample_root, iters=4)
    log = run_ok(python(TRAIN, SAMPLE_CONFIG, '--work-dir', work_dir,
                        '--cfg-options', *options), cwd=work_dir)
    assert 'Iter(train) [4/4]' in log
    # mmengine logs the CUDA memory of each iteration only on a GPU.
    assert all(' memory: ' in ln for ln in train_lines(log))
    val = final_metrics(log, 'val')

    log = run_ok(python(TEST, SAMPLE_CONFIG, osp.join(work_dir, 'iter_4.pth'),
                        '--work-dir', work_dir, '--cfg-options', *options),
                 cwd=work_dir)
    test = final_metrics(log, 'test')
    # Same weights, same tiles; cuDNN may pick other algorithms.
    assert test == pytest.approx(val, abs=0.05)

    amp_dir = str(tmp_path / 'amp')
    log = run_ok(python(TRAIN, SAMPLE_CONFIG, '--amp', '--work-dir', amp_dir,
                        '--cfg-options', *options), cwd=work_dir)
    assert "type='AmpOptimWrapper'" in log
    assert 'Iter(train) [4/4]' in log
    losses = [float(ln.split(' loss: ')[1].split()[0])
              for ln in train_lines(log)]
    assert all(torch.isfinite(torch.tensor(losses)))
    assert 0 <= final_metrics(log, 'val')['OA'] <= 100


def test_dist_train_one_gpu_nccl(sample_root, tmp_path):
    work_dir = str(tmp_path)
    log = run_ok(['bash', osp.join(REPO, 'tools', 'dist_train.sh'),
                  SAMPLE_CONFIG, '1', '--work-dir', work_dir,
                  '--cfg-options', *tiny_options(sample_root, iters=4)],
                 cwd=work_dir, env={'PORT': free_port()}, timeout=400)
    assert 'Distributed training: True' in log
    assert "'backend': 'nccl'" in log
    assert 'Iter(train) [4/4]' in log
    assert all(' memory: ' in ln for ln in train_lines(log))
    assert osp.isfile(osp.join(work_dir, 'iter_4.pth'))


def predicted(folder, device, *flags):
    """Labels and uint8 probabilities of tools/predict.py (tiny LANet with
    random weights, 128 windows every 96) on the benchmark's rasters."""
    from benchmarks.predict_benchmark import (save_random_checkpoint,
                                              write_test_rasters)
    from mmseg_lanet.datasets.georaster import RasterReader
    from mmseg_lanet.apis.predict_cli import predict
    rasters = write_test_rasters(str(folder), 700)
    checkpoint = save_random_checkpoint('tiny', str(folder / 'tiny.pth'))
    out = folder / f'{device}{"".join(flags)}'
    result, = predict([
        SAMPLE_CONFIG, checkpoint, rasters['image'], '--dsm', rasters['dsm'],
        '--bands', 'R', 'G', 'B', 'NIR', '--out-dir', str(out), '--device',
        device, '--mode', 'bounded', '--window', '128', '--stride', '96',
        '--batch-size', '8', '--probabilities', *flags, '--cfg-options',
        'model.backbone.stem_channels=8', 'model.backbone.base_channels=8',
        'model.decode_head.in_channels=[8,64]',
        'model.decode_head.channels=16', 'model.decode_head.low_channels=8'
    ])
    assert result['mode'] == 'bounded' and result['predicted'] == 49
    window = (0, 0, 700, 700)
    labels = RasterReader(result['paths']['labels']).read(window)[0]
    probs = RasterReader(result['paths']['probabilities']).read(window)
    return labels, probs.astype(int)


def test_predict_on_gpu_matches_the_cpu(tmp_path):
    """Windows stacked in page-locked memory and uploaded asynchronously,
    cuDNN, channels-last and float16: the maps stay the CPU's."""
    labels, probs = predicted(tmp_path, 'cpu')
    gpu_labels, gpu_probs = predicted(tmp_path, 'cuda')
    # cuDNN convolutions use TF32 by default; this random-weight model has
    # its two best classes within 1/255 at 2.2 % of the pixels (CPU).
    assert (gpu_labels == labels).mean() > 0.99
    diff = abs(gpu_probs - probs)
    assert (diff <= 1).mean() > 0.999 and diff.max() <= 3
    amp_labels, amp_probs = predicted(tmp_path, 'cuda', '--amp',
                                      '--channels-last')
    # (On the CPU, bfloat16 autocast: 99.98 % of labels, every probability
    # within 1/255; float16 is the finer type.)
    diff = abs(amp_probs - probs)
    assert (diff <= 1).mean() > 0.99 and diff.max() <= 4
    assert (amp_labels == labels).mean() > 0.98
