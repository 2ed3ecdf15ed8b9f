"""The logic behind ``tools/predict.py``: label GeoTIFFs of rasters of any
size, from a config and checkpoint (PyTorch) or from an exported ``.onnx``
model (onnxruntime).

The ``.onnx`` path imports neither torch nor OpenMMLab: it runs where only
numpy, onnxruntime and rasterio are installed (``pip install
mmseg-lanet[deploy]``).
"""
import argparse
import contextlib
import logging
import os
import os.path as osp
import sys
import warnings
from typing import Optional, Sequence

from .process_signals import sigterm_raises
from .raster_inference import PredictOptions, RasterInferencer, is_onnx_model

USAGE = ('%(prog)s (CONFIG CHECKPOINT | MODEL.onnx) INPUT... --out-dir DIR '
         '[options]')


def _pair(values: Optional[Sequence[int]]) -> Optional[tuple]:
    if values is None:
        return None
    if len(values) not in (1, 2) or min(values) <= 0:
        raise ValueError(f'expected one or two positive sizes, got {values}')
    return (values[0], values[-1])


def predict(argv: Optional[Sequence[str]] = None) -> list:
    """Land-cover maps of rasters: ``tools/predict.py CONFIG CHECKPOINT
    INPUT... --out-dir DIR`` or ``tools/predict.py MODEL.onnx INPUT...
    --out-dir DIR`` (see :class:`mmseg_lanet.apis.RasterInferencer`)."""
    parser = argparse.ArgumentParser(
        description='Predict label GeoTIFFs for rasters of any size',
        usage=USAGE)
    parser.add_argument(
        'model', help='config file path, or an ONNX model exported by '
        'tools/deployment/export_onnx.py (run by onnxruntime, no torch)')
    parser.add_argument(
        'inputs', nargs='+', metavar='INPUT', help="after a config, its "
        'checkpoint; then image rasters and/or folders of rasters')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument(
        '--dsm', nargs='+', help='height rasters, one per image in order, or '
        'a folder of rasters named as the images')
    parser.add_argument(
        '--bands', nargs='+', help="names of the image file's bands in file "
        "order, any case (red, near-infrared... name R, NIR...); the "
        "model's height band among them (e.g. nDSM) replaces --dsm, and a "
        "band named alpha is transparency (default: the file's band "
        "descriptions when they name the model's bands, else the model's "
        "optical bands; a band the file tags as alpha beyond them is "
        "transparency)")
    parser.add_argument('--device', help='cpu, cuda, cuda:1... (default: '
                        'cuda when available; an ONNX model runs on the CPU)')
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
                        "train crop, an ONNX model's window)")
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
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
        help='several processes, each on its share of the inputs and its '
        'own GPU (tools/dist_predict.sh, tools/slurm_predict.sh)')
    parser.add_argument(
        '--cfg-options', nargs='+', metavar='KEY=VALUE',
        help='override settings of the config')
    args = parser.parse_args(argv)
    if not is_onnx_model(args.model):
        if len(args.inputs) < 2:
            parser.error('a config needs its checkpoint and at least one '
                         'input raster (or give an exported .onnx model)')
        args.checkpoint = args.inputs.pop(0)
    try:
        with _one_line_warnings(parser.prog), _run_lines(parser.prog):
            return _predict(args)
    except (FileNotFoundError, ValueError, KeyError, ImportError) as err:
        # Bad input, or a package this run needs: one line naming the file
        # or the package at fault, no traceback.
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


def _options(args: argparse.Namespace, window) -> PredictOptions:
    return PredictOptions(
        window=window, stride=_pair(args.stride), batch_size=args.batch_size,
        mode=args.mode, max_memory=args.max_memory, tta=args.tta,
        amp=args.amp, channels_last=args.channels_last,
        fold_norms=args.fuse_conv_bn, probabilities=args.probabilities,
        quicklook=not args.no_quicklook, nodata=args.nodata,
        file_bands=args.bands)


def _onnx_inferencer(args: argparse.Namespace) -> RasterInferencer:
    """The ONNX model's inferencer: onnxruntime on the CPU, the window of
    its metadata (or of its graph, when exported at a fixed size)."""
    from ..inference.onnx_predict import OnnxSegmentor
    if args.cfg_options:
        raise ValueError(f'{args.model}: --cfg-options applies to a config; '
                         'an ONNX model carries its settings')
    if args.device not in (None, 'cpu'):
        raise ValueError(f'{args.model}: an ONNX model runs on the CPU here '
                         f'(onnxruntime), not on --device {args.device}')
    # As torch does, onnxruntime takes OMP_NUM_THREADS threads if set (one
    # process of several, from tools/dist_predict.sh), else every core.
    threads = os.environ.get('OMP_NUM_THREADS', '')
    model = OnnxSegmentor(args.model,
                          int(threads) if threads.isdigit() else None)
    window = _pair(args.window) or model.window or (512, 512)
    return RasterInferencer(model, options=_options(args, tuple(window)))


def _pytorch_inferencer(args: argparse.Namespace) -> RasterInferencer:
    """The config's segmentor with the checkpoint's weights, on the GPU
    when there is one."""
    import torch
    from mmengine.config import Config, DictAction
    from ..engine.checkpoint_compat import check_checkpoint_file
    from ..engine.config_checks import check_plugin_import
    check_checkpoint_file(args.checkpoint)
    if not osp.isfile(args.model):
        raise FileNotFoundError(f'config file not found: {args.model}')
    cfg = Config.fromfile(args.model)
    if args.cfg_options:
        # mmengine's parsing of key=value (lists, tuples, nested keys).
        parsed = argparse.Namespace()
        DictAction(['--cfg-options'], 'cfg_options')(None, parsed,
                                                    args.cfg_options)
        cfg.merge_from_dict(parsed.cfg_options)
    check_plugin_import(cfg)
    window = _pair(args.window) or tuple(
        cfg.model.get('test_cfg', {}).get('crop_size')
        or cfg.get('crop_size') or (512, 512))
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda' and args.launcher != 'none':
        # Each process its own GPU; more processes than GPUs share them.
        local_rank = int(os.environ.get('LOCAL_RANK', '0'))
        device = f'cuda:{local_rank % torch.cuda.device_count()}'
    return RasterInferencer(cfg, args.checkpoint, device,
                            _options(args, window))


def _inferencer(args: argparse.Namespace) -> RasterInferencer:
    return (_onnx_inferencer(args) if is_onnx_model(args.model) else
            _pytorch_inferencer(args))


def _predict(args: argparse.Namespace) -> list:
    if args.launcher == 'none':
        inferencer = _inferencer(args)
        with sigterm_raises():
            results = inferencer(args.inputs, args.out_dir, args.dsm)
    else:
        from .distributed_predict import predict_distributed, predict_group
        with predict_group(args.launcher) as rank:
            results = predict_distributed(_inferencer(args), args.inputs,
                                          args.out_dir, args.dsm)
        if rank != 0:  # rank 0 alone says how the run went
            return results
    if any(result['status'] == 'failed' for result in results):
        # Each failure and the summary are logged already.
        raise SystemExit(1)
    return results
