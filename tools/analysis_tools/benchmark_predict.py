"""Time and peak memory of raster inference: bounded predict on several
raster sizes, MMSeg slide vs batched blend (see
benchmarks.predict_benchmark).

CPU (memory and speed):
  python tools/analysis_tools/benchmark_predict.py --sizes 2048 12000 \
      --methods predict --model tiny
  python tools/analysis_tools/benchmark_predict.py --sizes 2048 \
      --methods slide blend --model r50
CPU, PyTorch vs the exported model on onnxruntime (side by side, labels
compared):
  python tools/analysis_tools/benchmark_predict.py --sizes 2048 \
      --methods predict --model r50 --backend pytorch onnxruntime
GPU (batched windows vs MMSeg slide):
  python tools/analysis_tools/benchmark_predict.py --device cuda \
      --sizes 6000 --methods slide blend --model r50 --batch-size 16 \
      --repeats 5 [--channels-last] [--amp] [--fuse-conv-bn]
"""
import argparse
import json
import os.path as osp
import sys

from mmseg_lanet.apis.segmentor_loading import check_device

# The harness is the benchmarks package beside tools/ (the installed
# mmseg_lanet holds runtime code only): found from this file, whatever the
# working directory.
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))
from benchmarks.predict_benchmark import (  # noqa: E402
    MODELS, benchmark, summarise)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/benchmark_predict')
    parser.add_argument('--sizes', type=int, nargs='+', default=[2048, 12000])
    parser.add_argument(
        '--methods', nargs='+', default=['predict', 'slide', 'blend'],
        choices=['predict', 'predict-whole', 'slide', 'blend'])
    parser.add_argument('--model', choices=sorted(MODELS), default='r50')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--window', type=int, nargs=2, default=[512, 512])
    parser.add_argument('--stride', type=int, nargs=2, default=[341, 341])
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--threads', type=int,
                        help='CPU threads of torch (and onnxruntime)')
    parser.add_argument(
        '--channels-last', action='store_true',
        help='predict and blend in channels-last memory format')
    parser.add_argument(
        '--amp', action='store_true',
        help='every method under autocast (float16 on CUDA, bfloat16 on '
        'CPU), MMSeg slide included')
    parser.add_argument(
        '--fuse-conv-bn', action='store_true',
        help='every method, MMSeg slide included, with batch norms folded '
        'into their convolutions')
    parser.add_argument(
        '--repeats', type=int, default=1,
        help='timed runs per case (default 1); a row reports their median')
    parser.add_argument(
        '--backend', nargs='+', choices=['pytorch', 'onnxruntime'],
        default=['pytorch'],
        help='who runs the predict methods: PyTorch and/or the model '
        'exported to ONNX on onnxruntime (in a process without torch); '
        'slide and blend run on PyTorch')
    parser.add_argument('--json', help='also write the rows as JSON here')
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f'--repeats must be at least 1, got {args.repeats}')
    # Before the test rasters are written (a minute at 6000 x 6000).
    try:
        check_device(args.device)
    except ValueError as error:
        parser.error(str(error))
    rows = benchmark(args.work_dir, args.sizes, args.methods, args.model,
                     args.device, args.window, args.stride, args.batch_size,
                     args.threads, args.channels_last, args.amp,
                     args.fuse_conv_bn, args.repeats, args.backend)
    for line in summarise(rows):
        print(line)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)
    return rows


if __name__ == '__main__':
    main()
