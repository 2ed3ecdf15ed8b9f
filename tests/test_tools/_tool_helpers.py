"""Helpers of the tool tests: a tiny model, subprocesses, log parsing."""
import os
import os.path as osp
import re
import socket
import subprocess
import sys

import mmseg

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SAMPLE_CONFIG = osp.join(
    REPO, 'configs', 'sample',
    'lanet_r18-d32_1xb4-200i_sample-potsdam-rgbir-dsm-256x256.py')
MMSEG_TOOLS = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools')


def tiny_options(data_root, iters=4):
    """--cfg-options that shrink the sample config to seconds of CPU time;
    with ``data_root=None`` the config's own (``data/sample/potsdam``)."""
    roots = [] if data_root is None else [
        f'{split}_dataloader.dataset.data_root={data_root}'
        for split in ('train', 'val', 'test')
    ]
    return roots + [
        'model.backbone.stem_channels=8',
        'model.backbone.base_channels=8',
        'model.decode_head.in_channels=[8,64]',
        'model.decode_head.channels=16',
        'model.decode_head.low_channels=8',
        'train_dataloader.batch_size=2',
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={iters}',
        f'param_scheduler.0.end={iters}',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1',
    ] + [  # 4 iterations and 3 tiles: loader processes only cost start-ups
        f'{split}_dataloader.{option}' for split in ('train', 'val', 'test')
        for option in ('num_workers=0', 'persistent_workers=False')
    ]


def free_port():
    """A TCP port free now, for a torchrun rendezvous: a fixed port fails
    with EADDRINUSE when another run of the suite shares the machine."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return str(sock.getsockname()[1])


def run(args, cwd, timeout=300, env=None):
    """Run a command, returning (exit code, stdout + stderr)."""
    full_env = dict(os.environ, PYTHONUNBUFFERED='1', **(env or {}))
    proc = subprocess.run(
        args, cwd=cwd, env=full_env, timeout=timeout, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return proc.returncode, proc.stdout


def run_ok(args, cwd, **kwargs):
    code, out = run(args, cwd, **kwargs)
    assert code == 0, f'{" ".join(map(str, args))} failed:\n{out[-6000:]}'
    return out


def python(script, *args):
    return [sys.executable, script, *args]


def final_metrics(log, mode):
    """Metrics of the last ``Iter(val|test)`` summary line of a log."""
    lines = [ln for ln in log.splitlines()
             if f'Iter({mode})' in ln and ' OA: ' in ln]
    assert lines, f'no {mode} metrics in the log:\n{log[-3000:]}'
    return {k: float(v) for k, v in re.findall(
        r'(\S+): (-?[0-9.]+|nan)', lines[-1].split(']', 1)[1])
        if k not in ('time', 'data_time')}
