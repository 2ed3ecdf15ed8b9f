"""The logic behind ``tools/deployment/export_onnx.py``."""
import argparse
import os.path as osp
from typing import Optional, Sequence, Tuple

from .check import DEFAULT_CHECK_SIZES, MAX_LOGIT_DIFF, MIN_AGREEMENT


def _size(text: str) -> Tuple[int, int]:
    """``512`` (square) or ``640x768`` (H x W)."""
    try:
        values = tuple(int(v) for v in text.lower().split('x'))
    except ValueError:
        values = ()
    if len(values) == 1:
        values *= 2
    if len(values) != 2 or min(values) <= 0:
        raise argparse.ArgumentTypeError(
            f'a size is N or HxW with positive integers, got {text!r}')
    return values


def export(argv: Optional[Sequence[str]] = None) -> dict:
    """``tools/deployment/export_onnx.py CONFIG CHECKPOINT --out FILE``
    (see :func:`mmseg_lanet.deploy.export.export_onnx`)."""
    parser = argparse.ArgumentParser(
        description='Export a trained segmentor to ONNX (raw bands in, '
        'logits at the input size out), checked against PyTorch')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='the .onnx file')
    parser.add_argument(
        '--shape', type=int, nargs=2, metavar=('H', 'W'),
        help='fixed input height and width (default: any size)')
    parser.add_argument('--opset', type=int, help='ONNX opset (default: 17)')
    parser.add_argument(
        '--check-sizes', type=_size, nargs='+', metavar='N|HxW',
        default=list(DEFAULT_CHECK_SIZES),
        help='input sizes checked against PyTorch (default: 512 1000 2048; '
        'a whole tile: 6000)')
    parser.add_argument('--check-batch-size', type=int, default=1,
                        help='images per checked input (default: 1)')
    parser.add_argument(
        '--max-diff', type=float, default=MAX_LOGIT_DIFF,
        help='largest logit difference accepted, times the largest logit '
        f'where that exceeds 1 (default: {MAX_LOGIT_DIFF})')
    parser.add_argument(
        '--min-agreement', type=float, default=100 * MIN_AGREEMENT,
        help='smallest percentage of equal labels accepted (default: '
        f'{100 * MIN_AGREEMENT:g})')
    args = parser.parse_args(argv)
    try:
        from ..engine.checkpoint_compat import check_checkpoint_file
        from .export import DEFAULT_OPSET, export_onnx
        if not osp.isfile(args.config):
            raise FileNotFoundError(f'config file not found: {args.config}')
        check_checkpoint_file(args.checkpoint)
        return export_onnx(
            args.config, args.checkpoint, args.out, shape=args.shape,
            opset=args.opset or DEFAULT_OPSET, check_sizes=args.check_sizes,
            batch_size=args.check_batch_size, max_diff=args.max_diff,
            min_agreement=args.min_agreement / 100)
    except (FileNotFoundError, ValueError, KeyError) as err:
        message = err.args[0] if isinstance(err, KeyError) else err
        parser.exit(2, f'{parser.prog}: error: {message}\n')
