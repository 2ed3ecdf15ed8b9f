"""Print Params and FLOPs of LANet configs next to their FCN baseline.

Example (the paper's setting, Potsdam 5 x 512 x 512)::

    python tools/analysis_tools/lanet_complexity.py \
        configs/lanet/lanet_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512.py \
        --baseline \
        configs/lanet/fcn_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512.py

The band count comes from the config's backbone; --size sets H W. The exit
status is 1 with --check if a model exceeds the goal of the issue
(+3% params, +5% FLOPs over the baseline).
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


def main():
    args = parse_args()
    rows = []
    for path in [args.baseline] + args.configs:
        cfg = Config.fromfile(path)
        model = build_segmentor(cfg, args.cfg_options)
        shape = (input_bands(cfg), *args.size)
        rows.append(measure_complexity(model, shape, osp.basename(path)[:-3]))
    baseline = rows[0]
    width = max(len(r.name) for r in rows)
    print(f'Input {"x".join(map(str, baseline.input_shape))}, batch 1. '
          'FLOPs: multiply-adds (mmengine FlopAnalyzer).')
    print(f'{"config":<{width}}  {"Params":>8}  {"GFLOPs":>8}  '
          f'{"dParams":>8}  {"dFLOPs":>8}')
    within_goal = True
    for row in rows:
        d_params, d_flops = row.overhead(baseline)
        print(f'{row.name:<{width}}  {row.params / 1e6:>7.2f}M  '
              f'{row.flops / 1e9:>8.2f}  {d_params:>+7.2f}%  '
              f'{d_flops:>+7.2f}%')
        within_goal &= d_params <= MAX_PARAMS_PCT and d_flops <= MAX_FLOPS_PCT
    uncounted = sorted(set().union(*(r.uncounted_ops for r in rows)))
    print('Not counted (element-wise / fixed-window pooling): ' +
          ', '.join(uncounted))
    print(f'Goal (<= +{MAX_PARAMS_PCT:g}% params, <= +{MAX_FLOPS_PCT:g}% '
          f'FLOPs over {baseline.name}): '
          f'{"met" if within_goal else "NOT met"}')
    if args.check and not within_goal:
        sys.exit(1)


if __name__ == '__main__':
    main()
