"""Samples/s of a config's training data path, per worker and through a
DataLoader, next to what a GPU consumes.

Example (the figures of docs/user_guides/benchmark.md: a generated
6000 x 6000 Potsdam tile, today's whole-tile pipeline for the before
figure)::

    python tools/analysis_tools/benchmark_data.py \
        configs/lanet/lanet_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512.py \
        --generate --before --gpu-rate 220

Without --generate it reads the config's data root (or --data-root).
"""
import argparse
import os.path as osp
import sys

import mmseg_lanet  # noqa: F401  (registers the plugin's components)

# The harness is the benchmarks package beside tools/ (the installed
# mmseg_lanet holds runtime code only): found from this file, whatever the
# working directory.
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))
from benchmarks.loading_benchmark import (  # noqa: E402
    benchmark_loading, format_report)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='config whose train_dataloader runs')
    parser.add_argument('--data-root', help="instead of the config's")
    parser.add_argument(
        '--generate', action='store_true',
        help='measure on a generated tile (see --tile-size, --work-dir)')
    parser.add_argument('--tile-size', type=int, default=6000,
                        help='generated tile side (default: %(default)s)')
    parser.add_argument('--crop-size', type=int, nargs=2,
                        help="crop h w instead of the config's")
    parser.add_argument('--samples', type=int, default=200,
                        help='samples per measurement (default: '
                        '%(default)s)')
    parser.add_argument('--workers', type=int, nargs='*', default=[1, 2],
                        help='DataLoader worker counts (default: 1 2)')
    parser.add_argument('--batch-size', type=int,
                        help="DataLoader batch (default: the config's)")
    parser.add_argument(
        '--before', action='store_true',
        help="also time today's whole-tile pipeline (Load + LoadAnn + "
        'NormalizeDSM + RandomCrop; on --generate data: PNG labels)')
    parser.add_argument('--before-samples', type=int, default=3,
                        help='samples timed for --before (default: '
                        '%(default)s)')
    parser.add_argument('--gpu-rate', type=float,
                        help='samples/s the GPU consumes, e.g. 220')
    parser.add_argument('--work-dir', help='where --generate writes '
                        '(default: work_dirs/benchmark_data)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    results = benchmark_loading(
        args.config, data_root=args.data_root, generate=args.generate,
        tile_size=args.tile_size, crop_size=args.crop_size,
        samples=args.samples, workers=args.workers,
        batch_size=args.batch_size, before=args.before,
        before_samples=args.before_samples, work_dir=args.work_dir)
    print(format_report(results, args.gpu_rate))
    return results


if __name__ == '__main__':
    main()
