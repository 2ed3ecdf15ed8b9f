"""train -> test -> --amp -> torchrun/NCCL on one GPU, on the synthetic
sample. Skipped without CUDA; run them alone with ``pytest -m gpu``."""
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
