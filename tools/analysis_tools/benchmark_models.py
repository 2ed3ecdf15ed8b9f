"""Benchmark segmentors side by side: Params, FLOPs, latency, training
throughput and large-tile inference, as a markdown table and JSON.

The comparison of configs/compare/README.md (Potsdam, 5 bands), on a GPU::

    python tools/analysis_tools/benchmark_models.py --device cuda \
        --out work_dirs/benchmark_potsdam.json

Without configs, the Potsdam comparison set is measured. On a CPU, keep it
modest, e.g. ``--train-batch 2 --train-size 256 --tile-sizes`` (no large
tiles). ``--small`` measures tiny inputs in seconds (the test suite's mode);
``--profile`` prints a torch.profiler table of training steps instead
(autocast casts, see the AMP section of configs/compare/README.md),
``--profile inference`` one of the batch-1 latency call.
``--cfg-options`` changes every config alike (e.g. to compare
``model.decode_head.float32_under_amp=False`` with the default).
"""
import argparse
import json
import os
import os.path as osp
import sys

import torch
from mmengine.config import DictAction

import mmseg_lanet  # noqa: F401  (registers the plugin's models)

# The harness is the benchmarks package beside tools/ (the installed
# mmseg_lanet holds runtime code only): found from this file, whatever the
# working directory.
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))
from benchmarks.model_benchmark import (  # noqa: E402
    MODES, Settings, benchmark, markdown_table, profile_step, ratio_table,
    to_json)

ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..')
POTSDAM = '_1xb8-80k_potsdam-rgbir-dsm-512x512.py'
DEFAULT_CONFIGS = [
    osp.join(ROOT, 'configs', folder, name + POTSDAM)
    for folder, name in (
        ('lanet', 'fcn_r50-d32'), ('lanet', 'lanet_r50-d32'),
        ('compare', 'fcn-se_r50-d32'), ('compare', 'fcn-bam_r50-d32'),
        ('compare', 'fcn-cbam_r50-d32'), ('compare', 'fcn-glore_r50-d32'),
        ('compare', 'danet_r50-d32'), ('compare', 'pspnet_r50-d32'),
        ('compare', 'deeplabv3plus_r50-d32'), ('compare', 'pspnet_r50-d8'),
        ('compare', 'deeplabv3plus_r50-d8'))
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('configs', nargs='*', default=DEFAULT_CONFIGS)
    parser.add_argument('--device', default='cpu', help='cpu, cuda, cuda:N')
    parser.add_argument('--out', help='write the results as JSON here')
    parser.add_argument(
        '--baseline',
        help='config name the ratio table divides by (default: the first)')
    parser.add_argument(
        '--small', action='store_true',
        help='tiny inputs and batches, few repetitions (other size and '
        'repetition flags are ignored)')
    default = Settings()
    parser.add_argument('--size', type=int, default=default.size)
    parser.add_argument('--warmup', type=int, default=default.warmup)
    parser.add_argument('--reps', type=int, default=default.reps)
    parser.add_argument(
        '--train-batch', type=int, default=default.train_batch,
        help='0: no training measurement')
    parser.add_argument('--train-size', type=int, default=default.train_size)
    parser.add_argument(
        '--amp', action=argparse.BooleanOptionalAction, default=None,
        help='also time training under autocast (default: on CUDA only)')
    parser.add_argument(
        '--tile-sizes', type=int, nargs='*', default=list(default.tile_sizes),
        help='sides of the large tiles; none: skip them')
    parser.add_argument(
        '--tile-modes', nargs='+', choices=MODES, default=list(MODES))
    parser.add_argument('--tile-reps', type=int, default=default.tile_reps)
    parser.add_argument(
        '--tile-flops', action='store_true',
        help='also count FLOPs of whole-tile inference')
    parser.add_argument(
        '--timer', choices=('wall', 'process'), default='wall',
        help='process: CPU time of this process (CPU only; with '
        '--threads 1, stable on a shared machine)')
    parser.add_argument(
        '--threads', type=int, help='torch CPU threads (default: torch\'s)')
    parser.add_argument(
        '--profile', nargs='?', const='train', choices=('train', 'inference'),
        help='profile each config instead: training steps (AMP unless '
        '--no-amp; batch --train-batch at --train-size) or the latency call '
        '(inference: batch 1 at --size)')
    parser.add_argument(
        '--compile', action='store_true',
        help="torch.compile the training step's forward and loss (as "
        "mmengine's compile=True); the warm-up pays the compilation")
    parser.add_argument('--compile-backend', default='inductor',
                        help='torch.compile backend of --compile')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='settings merged into every config, e.g. '
        'model.decode_head.float32_under_amp=False')
    args = parser.parse_args(argv)
    if args.compile:
        import torch._dynamo
        backends = torch._dynamo.list_backends(exclude_tags=())
        if args.compile_backend not in backends:
            parser.error(f'unknown --compile-backend '
                         f'{args.compile_backend!r}; torch has {backends}')
    return parser, args


def settings_of(args) -> Settings:
    compile = args.compile_backend if args.compile else None
    if args.small:
        settings = Settings.small(args.device)
        settings.cfg_options = args.cfg_options
        settings.compile = compile
        return settings
    return Settings(
        device=args.device,
        size=args.size,
        warmup=args.warmup,
        reps=args.reps,
        train_batch=args.train_batch,
        train_size=args.train_size,
        amp=args.amp,
        tile_sizes=tuple(args.tile_sizes),
        tile_modes=tuple(args.tile_modes),
        tile_reps=args.tile_reps,
        tile_flops=args.tile_flops,
        timer=args.timer,
        cfg_options=args.cfg_options,
        compile=compile)


def main(argv=None):
    parser, args = parse_args(argv)
    settings = settings_of(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        if args.profile:
            inference = args.profile == 'inference'
            for path in args.configs:
                print(profile_step(
                    path, args.device, args.amp is not False,
                    args.train_batch or 8,
                    args.size if inference else args.train_size,
                    inference=inference, cfg_options=args.cfg_options))
            return
        results = benchmark(
            args.configs, settings,
            lambda r: print(f'measured {r.name}', file=sys.stderr, flush=True))
    except (FileNotFoundError, ValueError) as err:
        parser.exit(2, f'{parser.prog}: error: {err}\n')
    report = to_json(results, settings)
    env = report['environment']
    print(f'{env["date"]}, {env["device"]}, torch {env["torch"]}, '
          f'{env["threads"]} threads, {env["timer"]} time')
    args_given = sys.argv[1:] if argv is None else list(argv)
    print(f'Command: {" ".join([osp.basename(__file__)] + args_given)}')
    print()
    print(markdown_table(results, settings))
    print()
    print(ratio_table(results, args.baseline or results[0].name))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=2)
        print(f'\nWrote {args.out}')


if __name__ == '__main__':
    main()
