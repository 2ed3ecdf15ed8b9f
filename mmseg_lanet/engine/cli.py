"""The logic behind ``tools/train.py`` and ``tools/test.py``.

Same flags and behaviour as MMSeg's tools, plus: the plugin is imported before
the config is read, configs and data roots are checked up front, checkpoints
are checked before the runner is built, and multi-process runs work on
CPU-only machines (gloo). See :mod:`mmseg_lanet.engine.cpu_distributed`.
"""
import argparse
import contextlib
import logging
import os
import os.path as osp
import sys
import warnings
from typing import Optional, Sequence

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


def _run(cfg: Config, loop: str) -> None:
    """Build the runner, run its ``train`` or ``test`` loop, then close the
    process group of a distributed run: left to interpreter exit, its
    threads once aborted a finished CPU run ('terminate called without an
    active exception'), and PyTorch warns of the leak."""
    getattr(_build_runner(cfg), loop)()
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


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
    _run(cfg, 'train')


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
    _run(cfg, 'test')


def _pair(values: Optional[Sequence[int]]) -> Optional[tuple]:
    if values is None:
        return None
    if len(values) not in (1, 2) or min(values) <= 0:
        raise ValueError(f'expected one or two positive sizes, got {values}')
    return (values[0], values[-1])


def predict(argv: Optional[Sequence[str]] = None) -> list:
    """Land-cover maps of rasters: ``tools/predict.py CONFIG CHECKPOINT
    INPUT... --out-dir DIR`` (see :class:`mmseg_lanet.apis.RasterInferencer`).
    """
    parser = argparse.ArgumentParser(
        description='Predict label GeoTIFFs for rasters of any size')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('inputs', nargs='+',
                        help='image rasters and/or folders of rasters')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument(
        '--dsm', nargs='+', help='height rasters, one per image in order, or '
        'a folder of rasters named as the images')
    parser.add_argument(
        '--bands', nargs='+', help="names of the image file's bands in file "
        "order; the model's height band among them (e.g. nDSM) replaces "
        "--dsm, and a band named alpha is transparency (default: the "
        "file's band descriptions when they name the model's bands, else "
        "the config's optical bands; a band the file tags as alpha beyond "
        "them is transparency)")
    parser.add_argument('--device', help='cpu, cuda, cuda:1... (default: '
                        'cuda when available)')
    parser.add_argument('--batch-size', type=int, default=4,
                        help='windows per forward pass')
    parser.add_argument('--amp', action='store_true', help='mixed precision')
    parser.add_argument(
        '--channels-last', action='store_true',
        help='run the model in channels-last memory format (tensor-core '
        'GPUs)')
    parser.add_argument(
        '--fuse-conv-bn', action='store_true',
        help='fold batch norms into their convolutions (the same '
        'arithmetic up to rounding, fewer operators)')
    parser.add_argument('--tta', action='store_true',
                        help='average with horizontal and vertical flips')
    parser.add_argument(
        '--mode', choices=['auto', 'whole', 'bounded'], default='auto',
        help='whole raster in one pass, or windows blended in a band of '
        'rows; auto: whole when it fits --max-memory')
    parser.add_argument('--max-memory', type=float, default=4.,
                        help='memory budget in GiB for --mode auto')
    parser.add_argument('--window', type=int, nargs='+',
                        help="window H [W] (default: the config's test or "
                        'train crop)')
    parser.add_argument('--stride', type=int, nargs='+',
                        help='step H [W] between windows (default: 2/3 of '
                        'the window, rounded down: 341 for 512)')
    parser.add_argument(
        '--nodata', type=float, help="input nodata value (default: the "
        "file's; 0 makes all-zero pixels nodata)")
    parser.add_argument('--probabilities', action='store_true',
                        help='also write uint8 class probabilities')
    parser.add_argument('--no-quicklook', action='store_true',
                        help='no colour PNG quicklook')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config')
    args = parser.parse_args(argv)
    try:
        with _one_line_warnings(parser.prog), _run_lines(parser.prog):
            return _predict(args)
    except (FileNotFoundError, ValueError, KeyError) as err:
        # Bad input: one line naming the file at fault, no traceback.
        message = err.args[0] if isinstance(err, KeyError) else err
        parser.exit(2, f'{parser.prog}: error: {message}\n')


@contextlib.contextmanager
def _one_line_warnings(prog: str):
    """The plugin's warnings about the user's input (band order assumed,
    absolute heights) as one line each, ``prog: warning: ...``, like its
    errors; other packages' warnings keep Python's format."""
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    with warnings.catch_warnings():
        default = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if osp.abspath(filename).startswith(package + os.sep):
                print(f'{prog}: warning: {message}', file=sys.stderr)
            else:
                default(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


@contextlib.contextmanager
def _run_lines(prog: str):
    """The lines of a run over rasters (``mmseg_lanet.apis``' logger): one
    per raster and a summary on stdout, a raster that failed on stderr as
    ``prog: error: failed: ...``, like the tool's other errors."""

    class ToolLines(logging.Handler):

        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                print(f'{prog}: error: {record.getMessage()}',
                      file=sys.stderr, flush=True)
            else:
                print(record.getMessage(), flush=True)

    logger = logging.getLogger('mmseg_lanet.apis')
    handler, level, propagate = ToolLines(), logger.level, logger.propagate
    logger.addHandler(handler)
    # Printed once, here, even where a library configured the root logger.
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def _predict(args: argparse.Namespace) -> list:
    import torch
    from ..apis import PredictOptions, RasterInferencer
    check_checkpoint_file(args.checkpoint)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    check_plugin_import(cfg)
    window = _pair(args.window) or tuple(
        cfg.model.get('test_cfg', {}).get('crop_size')
        or cfg.get('crop_size') or (512, 512))
    options = PredictOptions(
        window=window, stride=_pair(args.stride), batch_size=args.batch_size,
        mode=args.mode, max_memory=args.max_memory, tta=args.tta,
        amp=args.amp, channels_last=args.channels_last,
        fold_norms=args.fuse_conv_bn, probabilities=args.probabilities,
        quicklook=not args.no_quicklook, nodata=args.nodata,
        file_bands=args.bands)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    inferencer = RasterInferencer(cfg, args.checkpoint, device, options)
    results = inferencer(args.inputs, args.out_dir, args.dsm)
    if any(result['status'] == 'failed' for result in results):
        # Each failure and the summary are logged already.
        raise SystemExit(1)
    return results
