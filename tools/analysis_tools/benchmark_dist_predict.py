"""Does tools/dist_predict.sh scale? A folder of rasters mapped by 1 process
of 1 thread, 2 processes of 1 thread each, and 1 process of 2 threads, each
timed as a whole command, the maps compared (see
benchmarks.dist_predict_benchmark):

  python tools/analysis_tools/benchmark_dist_predict.py --count 8 --size 320
"""
import argparse
import os.path as osp
import sys

# The harness is the benchmarks package beside tools/.
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))
from benchmarks.dist_predict_benchmark import benchmark, summarise  # noqa
from benchmarks.predict_benchmark import MODELS  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir',
                        default='work_dirs/benchmark_dist_predict')
    parser.add_argument('--count', type=int, default=8,
                        help='number of rasters')
    parser.add_argument('--size', type=int, default=320,
                        help='raster side in pixels (320: a sample tile)')
    parser.add_argument('--model', choices=sorted(MODELS), default='r18')
    parser.add_argument('--threads', type=int, nargs='+', default=[1, 2],
                        help='threads of the 1-process cases')
    parser.add_argument('--repeat', type=int, default=3,
                        help='runs of each case (medians are printed)')
    args = parser.parse_args(argv)
    rows = benchmark(args.work_dir, args.count, args.size, args.model,
                     args.threads, args.repeat)
    print('\n'.join(summarise(rows, args.count, args.size)))
    return rows


if __name__ == '__main__':
    main()
