"""The logic behind ``tools/train.py`` and ``tools/test.py``
(``tools/predict.py``'s is :mod:`mmseg_lanet.apis.predict_cli`).

Same flags and behaviour as MMSeg's tools, plus: the plugin is imported before
the config is read, configs and data roots are checked up front, checkpoints
are checked before the runner is built, and multi-process runs work on
CPU-only machines (gloo). See :mod:`mmseg_lanet.engine.cpu_distributed`.
"""
import argparse
import functools
import gc
import logging
import os
import os.path as osp
from typing import Callable, Optional, Sequence

from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from .checkpoint_compat import check_checkpoint_file
from .config_checks import (check_data_roots, check_plugin_import,
                            prepare_synthetic_sample)
from .cpu_distributed import setup_cpu_distributed


def _base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--work-dir', help='the dir to save logs, checkpoints and metrics')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as key=value pairs '
        '(lists as key="[a,b]", nested as key="[(a,b),(c,d)]", no spaces)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or
    # --local_rank; torchrun sets LOCAL_RANK instead.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def _load_config(args, loaders: Sequence[str]) -> Config:
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    check_plugin_import(cfg)
    prepare_synthetic_sample(cfg, loaders)
    check_data_roots(cfg, loaders)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    setup_cpu_distributed(cfg)
    return cfg


def _build_runner(cfg: Config):
    from mmengine.runner import Runner
    from mmseg.registry import RUNNERS
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def closes_process_group(main: Callable) -> Callable:
    """Make a tool's ``main`` destroy the default process group, if any,
    when it returns or raises: left to interpreter exit, gloo's worker
    threads once aborted a finished CPU run ('terminate called without an
    active exception'), and would hide the traceback of a failed one.

    The runner is collected first: reference cycles keep it, and with it
    the DDP wrapper whose reducer holds the group, alive after ``main``
    returns, so the group outlived its destruction until the interpreter's
    finalization freed it: the abort was seen once more, in a full test
    suite, with the group destroyed."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        finally:
            import torch.distributed as dist
            if dist.is_available() and dist.is_initialized():
                gc.collect()
                dist.destroy_process_group()

    return wrapper


def enable_amp(cfg: Config) -> None:
    """Switch ``cfg.optim_wrapper`` to mmengine's dynamic-loss-scale AMP."""
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper == 'AmpOptimWrapper':
        print_log('AMP training is already enabled in the config.',
                  logger='current', level=logging.WARNING)
        return
    if wrapper != 'OptimWrapper':
        raise ValueError('--amp needs optim_wrapper.type = OptimWrapper, '
                         f'got {wrapper}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'


@closes_process_group
def train(argv: Optional[Sequence[str]] = None) -> None:
    """Train a segmentor: ``tools/train.py CONFIG [--resume] [--amp] ...``."""
    parser = _base_parser('Train a segmentor')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the latest checkpoint in the work dir, or from '
        'the given checkpoint')
    parser.add_argument(
        '--amp', action='store_true', help='mixed-precision training')
    args = parser.parse_args(argv)
    cfg = _load_config(args, ['train_dataloader', 'val_dataloader'])
    if args.amp:
        enable_amp(cfg)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        check_checkpoint_file(args.resume)
        cfg.resume, cfg.load_from = True, args.resume
    _build_runner(cfg).train()


def _trigger_visualization(cfg: Config, args) -> None:
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise KeyError("--show/--show-dir need default_hooks.visualization "
                       "(dict(type='SegVisualizationHook')) in the config")
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        cfg.visualizer['save_dir'] = args.show_dir


@closes_process_group
def test(argv: Optional[Sequence[str]] = None) -> None:
    """Test a checkpoint: ``tools/test.py CONFIG CHECKPOINT [--tta] ...``."""
    parser = _base_parser('Test (and evaluate) a segmentor')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', help='directory to save the predicted label maps')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir', help='directory to save painted predictions (inside '
        'the work dir / timestamp)')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--tta', action='store_true', help='test-time augmentation')
    parser.add_argument(
        '--amp', action='store_true',
        help="mixed precision (mmengine's TestLoop fp16), every test mode")
    parser.add_argument(
        '--confusion-matrix', metavar='PNG',
        help='also draw the confusion matrix into this PNG')
    args = parser.parse_args(argv)
    check_checkpoint_file(args.checkpoint)
    cfg = _load_config(args, ['test_dataloader'])
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        _trigger_visualization(cfg, args)
    if args.tta:
        if 'tta_pipeline' not in cfg:
            raise KeyError(f'--tta needs tta_pipeline in {args.config}')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if args.amp:
        cfg.test_cfg['fp16'] = True
    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True
    if args.confusion_matrix is not None:
        cfg.test_evaluator['confusion_matrix_path'] = args.confusion_matrix
    _build_runner(cfg).test()
