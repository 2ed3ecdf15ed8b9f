"""Write the synthetic ISPRS-like sample data and convert it.

The scenes are synthetic (see ``mmseg_lanet/datasets/synthetic.py``): they
are written as the official ISPRS archives, then converted by the same
converter as the real data. Example::

    python tools/make_sample_data.py --dataset potsdam --out data/sample

writes ``data/sample/archives/potsdam/*.zip`` and the converted
``data/sample/potsdam/{img_dir,dsm_dir,ann_dir,ann_eroded_dir}``, read by
``configs/_base_/datasets/sample_potsdam_rgbir_dsm.py``.
"""
import argparse

from mmseg_lanet.datasets.converters import format_summary
from mmseg_lanet.datasets.synthetic import SAMPLE_WRITERS, make_sample_data


def parse_args():
    parser = argparse.ArgumentParser(
        description='Write synthetic ISPRS-like archives (official layout) '
        'and convert them with the real converter.')
    parser.add_argument(
        '--dataset', choices=[*SAMPLE_WRITERS, 'all'], default='potsdam')
    parser.add_argument(
        '--out', default='data/sample',
        help='output root (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    return parser.parse_args()


def main():
    args = parse_args()
    datasets = list(SAMPLE_WRITERS) if args.dataset == 'all' else [
        args.dataset
    ]
    for dataset in datasets:
        manifest = make_sample_data(
            dataset, args.out, seed=args.seed, progress=not args.no_progress)
        print(format_summary(manifest))
    print('These scenes are SYNTHETIC (generated, not ISPRS data).')


if __name__ == '__main__':
    main()
