"""Distributed runs over gloo on CPU, as on a cluster: torchrun with 2
processes on one node and with 1 process on each of 2 nodes (loopback), and a
real Slurm (tools/ci/start_slurm.sh); every 2-process run exits cleanly.

The loaders run in the main process (``num_workers=0``), the case in which a
rank once aborted at exit ('terminate called without an active exception').
Each launch costs seconds of imports, so the runs are shared by the tests of
this module.
"""
import functools
import os
import os.path as osp
import shutil
import subprocess
from types import SimpleNamespace

import pytest
import torch

from _tool_helpers import (REPO, SAMPLE_CONFIG, final_metrics, free_port,
                           python, run, run_ok, tiny_options)

pytestmark = pytest.mark.cluster

TOOLS = osp.join(REPO, 'tools')
ITERS = 2
PARTITION = os.environ.get('SLURM_PARTITION', 'ci')
CONFIG_NAME = osp.splitext(osp.basename(SAMPLE_CONFIG))[0]


def _clean_run(args, cwd, env=None, timeout=300):
    """Run a multi-process command: exit 0 and no abort at exit."""
    log = run_ok(args, cwd, env=env, timeout=timeout)
    assert 'terminate called' not in log, log[-3000:]
    return log


def _state_dict(path):
    return torch.load(path, map_location='cpu', weights_only=True)[
        'state_dict']


def _assert_same_weights(path, reference):
    ours, theirs = _state_dict(path), _state_dict(reference)
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key


def _dist_train(options, work_dir, nproc='2', env=None):
    return _clean_run(['bash', osp.join(TOOLS, 'dist_train.sh'), SAMPLE_CONFIG,
                       nproc, '--work-dir', work_dir, '--cfg-options',
                       *options], work_dir, env=env or {'PORT': free_port()})


def _two_launchers(script, args, cwd, timeout=300):
    """``script`` (dist_train.sh or dist_test.sh) as two nodes of one process
    each on loopback, started together: (node 0's log, node 1's log)."""
    # One thread per process, as torchrun sets for several per node: the
    # sums of a convolution then add in the order of the 2-process run.
    env = dict(os.environ, PYTHONUNBUFFERED='1', NNODES='2',
               MASTER_ADDR='127.0.0.1', PORT=free_port(), OMP_NUM_THREADS='1')
    procs = [
        subprocess.Popen(['bash', osp.join(TOOLS, script), *args], cwd=cwd,
                         env=dict(env, NODE_RANK=str(rank)), text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for rank in (0, 1)
    ]
    try:
        logs = [proc.communicate(timeout=timeout)[0] for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
    for rank, (proc, log) in enumerate(zip(procs, logs)):
        assert proc.returncode == 0, f'node {rank} failed:\n{log[-6000:]}'
        assert 'terminate called' not in log, log[-3000:]
    return logs


@pytest.fixture(scope='module')
def options(sample_root):
    return tiny_options(sample_root, iters=ITERS)


@pytest.fixture(scope='module')
def single_node(options, tmp_path_factory):
    """2 processes on one node: the training log, its checkpoint, and the
    metrics of 1 process testing that checkpoint."""
    work_dir = str(tmp_path_factory.mktemp('single_node'))
    log = _dist_train(options, work_dir)
    ckpt = osp.join(work_dir, f'iter_{ITERS}.pth')
    one_process = final_metrics(
        run_ok(python(osp.join(TOOLS, 'test.py'), SAMPLE_CONFIG, ckpt,
                      '--work-dir', work_dir, '--cfg-options', *options),
               cwd=work_dir), 'test')
    return SimpleNamespace(work_dir=work_dir, log=log, ckpt=ckpt,
                           one_process=one_process)


def test_two_process_cpu_training(single_node, options):
    log = single_node.log
    assert 'Distributed training: True' in log
    assert "'backend': 'gloo'" in log
    assert f'Iter(train) [{ITERS}/{ITERS}]' in log
    assert f'Iter(train) [{ITERS + 1}/' not in log
    ckpt = torch.load(single_node.ckpt, map_location='cpu', weights_only=True)
    assert ckpt['meta']['iter'] == ITERS
    # No final validation equals a test of the checkpoint: each rank
    # validates with its own batch-norm statistics (no SyncBN on CPU).

    work_dir = single_node.work_dir
    both = final_metrics(
        _clean_run(['bash', osp.join(TOOLS, 'dist_test.sh'), SAMPLE_CONFIG,
                    single_node.ckpt, '2', '--work-dir', work_dir,
                    '--cfg-options', *options],
                   work_dir, env={'PORT': free_port()}), 'test')
    # Each rank predicts part of the tiles: equal metrics mean the
    # confusion matrices of both ranks were gathered.
    assert both == single_node.one_process


def test_two_process_runs_exit_cleanly(single_node, options, tmp_path):
    # The fixture's run and two more: an abort at exit came and went.
    for attempt in ('again', 'third'):
        work_dir = str(tmp_path / attempt)
        os.mkdir(work_dir)
        _dist_train(options, work_dir)
        # Training is deterministic: the comparisons of this module hold.
        _assert_same_weights(osp.join(work_dir, f'iter_{ITERS}.pth'),
                             single_node.ckpt)


def test_two_nodes_on_loopback(single_node, options, tmp_path):
    work_dir = str(tmp_path)
    node0, _ = _two_launchers(
        'dist_train.sh', [SAMPLE_CONFIG, '1', '--work-dir', work_dir,
                          '--cfg-options', *options], work_dir)
    assert 'Distributed training: True' in node0
    # Two separate 1-process runs would train on other batches.
    assert final_metrics(node0, 'val') == final_metrics(single_node.log,
                                                        'val')
    ckpt = osp.join(work_dir, f'iter_{ITERS}.pth')
    _assert_same_weights(ckpt, single_node.ckpt)

    node0, _ = _two_launchers(
        'dist_test.sh', [SAMPLE_CONFIG, ckpt, '1', '--work-dir', work_dir,
                         '--cfg-options', *options], work_dir)
    assert final_metrics(node0, 'test') == single_node.one_process


# Slurm ---------------------------------------------------------------------


@functools.lru_cache()
def _slurm_missing():
    """Why no Slurm job can run here, or None when one can."""
    hint = 'start one with tools/ci/start_slurm.sh (as root)'
    if shutil.which('srun') is None:
        return f'no Slurm: srun is not installed; {hint}'
    try:
        proc = subprocess.run(
            ['sinfo', '--noheader', '--partition', PARTITION, '--format',
             '%a %D'], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return f'no Slurm: sinfo did not answer within 20 s; {hint}'
    answer = proc.stdout.split()
    if proc.returncode != 0 or answer[:1] != ['up']:
        reason = proc.stderr.strip() or f'partition {PARTITION} is not up'
        return f'no Slurm: {reason}; {hint}'
    return None


@pytest.fixture(scope='module')
def slurm():
    reason = _slurm_missing()
    if reason is not None:
        pytest.skip(reason)
    # Two tasks of one CPU each, no GPU, on the test cluster's partition.
    return dict(GPUS='2', GPUS_PER_NODE='2', CPUS_PER_TASK='1', GRES='none')


def _slurm_run(script, args, cwd, env, timeout=300):
    return _clean_run(['bash', osp.join(TOOLS, script), PARTITION, 'pytest',
                       *args], cwd, env=dict(env, PORT=free_port()),
                      timeout=timeout)


def test_slurm_train_test_resume(slurm, single_node, options, tmp_path):
    # No --work-dir: the run goes where the docs say, under the current
    # folder's work_dirs/CONFIG_NAME.
    log = _slurm_run('slurm_train.sh', [SAMPLE_CONFIG, '--cfg-options',
                                        *options], str(tmp_path), slurm)
    assert 'Distributed launcher: slurm' in log
    assert "'backend': 'gloo'" in log
    work_dir = tmp_path / 'work_dirs' / CONFIG_NAME
    ckpt = str(work_dir / f'iter_{ITERS}.pth')
    _assert_same_weights(ckpt, single_node.ckpt)
    assert final_metrics(log, 'val') == final_metrics(single_node.log, 'val')
    run_logs = list(work_dir.glob('*/*.log'))
    assert len(run_logs) == 1
    assert run_logs[0].name == run_logs[0].parent.name + '.log'
    assert f'Iter(train) [{ITERS}/{ITERS}]' in run_logs[0].read_text()

    log = _slurm_run('slurm_test.sh', [SAMPLE_CONFIG, ckpt, '--work-dir',
                                       str(tmp_path), '--cfg-options',
                                       *options], str(tmp_path), slurm)
    assert final_metrics(log, 'test') == single_node.one_process

    # The 2-task checkpoint resumes in one process.
    resumed = [o for o in options if not o.startswith(('train_cfg.max',
                                                       'param_sch'))]
    log = run_ok(python(osp.join(TOOLS, 'train.py'), SAMPLE_CONFIG,
                        '--work-dir', str(tmp_path / 'resumed'), '--resume',
                        ckpt, '--cfg-options', *resumed,
                        f'train_cfg.max_iters={ITERS + 1}',
                        f'param_scheduler.0.end={ITERS + 1}'),
                 cwd=str(tmp_path))
    assert f'resumed epoch: 0, iter: {ITERS}' in log
    assert f'Iter(train) [{ITERS + 1}/{ITERS + 1}]' in log
    assert 'Iter(train) [1/' not in log


@pytest.mark.parametrize('change, message', [
    (dict(GPUS='3', GPUS_PER_NODE='3'),
     'More processors requested than permitted'),
    (dict(partition='no_such_partition'), 'invalid partition specified'),
])
def test_slurm_job_slurm_cannot_run_fails_fast(slurm, options, tmp_path,
                                               change, message):
    env = dict(slurm, **change)
    partition = env.pop('partition', PARTITION)
    code, log = run(['bash', osp.join(TOOLS, 'slurm_train.sh'), partition,
                     'pytest', SAMPLE_CONFIG], str(tmp_path),
                    env=env, timeout=60)
    assert code != 0
    assert 'srun: error: ' in log and message in log, log
    assert not (tmp_path / 'work_dirs').exists()
