"""Print Params and FLOPs of LANet configs next to their FCN baseline.

Example (the paper's setting, Potsdam 5 x 512 x 512)::

    python tools/analysis_tools/lanet_complexity.py \
        configs/lanet/lanet_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512.py \
        --baseline \
        configs/lanet/fcn_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512.py

The band count comes from the config's backbone; --size sets H W. Models on
the baseline's backbone are checked against the goal of +3% params and +5%
FLOPs over it (column "goal"); with --check the exit status is 1 if one
exceeds it.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import Config, DictAction

import mmseg_lanet  # noqa: F401  (registers LANet's modules)
from mmseg_lanet.models.complexity import (build_segmentor, input_bands,
                                           measure_complexity)

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'lanet')
DEFAULT = 'lanet_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512.py'
DEFAULT_BASELINE = 'fcn_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512.py'
MAX_PARAMS_PCT, MAX_FLOPS_PCT = 3., 5.


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'configs', nargs='*', default=[osp.join(CONFIG_DIR, DEFAULT)])
    parser.add_argument(
        '--baseline', default=osp.join(CONFIG_DIR, DEFAULT_BASELINE))
    parser.add_argument('--size', type=int, nargs=2, default=(512, 512))
    parser.add_argument('--check', action='store_true')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def measure(path, size, cfg_options):
    cfg = Config.fromfile(path)
    model = build_segmentor(cfg, cfg_options)
    shape = (input_bands(cfg), *size)
    return measure_complexity(model, shape, osp.basename(path)[:-3])


def main():
    args = parse_args()
    baseline = measure(args.baseline, args.size, args.cfg_options)
    rows = [baseline] + [
        measure(path, args.size, args.cfg_options) for path in args.configs
        if osp.abspath(path) != osp.abspath(args.baseline)
    ]
    width = max(len(r.name) for r in rows)
    print(f'Input {"x".join(map(str, baseline.input_shape))}, batch 1. '
          'FLOPs: multiply-adds (mmengine FlopAnalyzer). Goal: <= '
          f'+{MAX_PARAMS_PCT:g}% params and <= +{MAX_FLOPS_PCT:g}% FLOPs over '
          'the baseline, on its backbone.')
    print(f'{"config":<{width}}  {"Params":>8}  {"GFLOPs":>8}  '
          f'{"dParams":>8}  {"dFLOPs":>8}  goal')
    over_goal = []
    for row in rows:
        d_params, d_flops = row.overhead(baseline)
        if row is baseline:
            goal = 'baseline'
        elif not row.same_backbone(baseline):
            goal = '- (other backbone)'
        elif d_params <= MAX_PARAMS_PCT and d_flops <= MAX_FLOPS_PCT:
            goal = 'met'
        else:
            goal = 'NOT met'
            over_goal.append(row.name)
        print(f'{row.name:<{width}}  {row.params / 1e6:>7.2f}M  '
              f'{row.flops / 1e9:>8.2f}  {d_params:>+7.2f}%  '
              f'{d_flops:>+7.2f}%  {goal}')
    uncounted = sorted(set().union(*(r.uncounted_ops for r in rows)))
    print('Not counted (element-wise / fixed-window pooling): ' +
          ', '.join(uncounted))
    if args.check and over_goal:
        sys.exit(1)


if __name__ == '__main__':
    main()
