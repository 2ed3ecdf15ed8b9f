"""Does ``tools/dist_predict.sh`` scale? A folder of rasters mapped by 1
process with 1 thread, by 2 processes of 1 thread each (the sharding), and
by 1 process with 2 threads (what the 2 processes compete with on 2 cores).

Each case is timed as a whole command as a user runs it (start-up and model
loading included): ``tools/predict.py`` for one process, and
``tools/dist_predict.sh`` for one process too, whose summary line also
gives the time spent predicting (from the plan to the gathered results).
The maps of every run are compared with the first's. Used by
``tools/analysis_tools/benchmark_dist_predict.py``.
"""
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import time
from typing import List, Sequence

import numpy as np

from .predict_benchmark import (MODELS, REPO, empty_folder,
                                save_random_checkpoint, write_test_rasters)

TWO_PROCESSES = 'dist_predict.sh 2, 1 thread each'


def cases(threads: Sequence[int] = (1, 2)) -> List[tuple]:
    """(name, launcher, processes, threads per process) of each case: 2
    processes of 1 thread, and 1 process with each of ``threads`` through
    ``tools/predict.py`` and through ``dist_predict.sh``."""
    rows = [(TWO_PROCESSES, 'dist_predict.sh', 2, 1)]
    for n in threads:
        unit = 'thread' if n == 1 else 'threads'
        rows += [(f'predict.py, {n} {unit}', 'predict.py', 1, n),
                 (f'dist_predict.sh 1, {n} {unit}', 'dist_predict.sh', 1, n)]
    return rows


PREDICTING = re.compile(r'pixels predicted in ([0-9.]+) s')


def write_rasters(folder: str, count: int, size: int) -> str:
    """``count`` copies of a ``size`` x ``size`` scene (image and DSM) in
    ``folder/images`` and ``folder/dsm``; returns ``folder``."""
    source = write_test_rasters(folder, size)
    for kind in ('image', 'dsm'):
        sub = osp.join(folder, 'images' if kind == 'image' else 'dsm')
        os.makedirs(sub, exist_ok=True)
        for i in range(count):
            target = osp.join(sub, f'tile_{i}.tif')
            if not osp.isfile(target):
                shutil.copy(source[kind], target)
    return folder


def _command(launcher: str, processes: int, model: str, checkpoint: str,
             out: str) -> List[str]:
    config = osp.join(REPO, MODELS[model]['config'])
    options = [f'{k}={v}'.replace(' ', '')
               for k, v in MODELS[model]['options'].items()]
    tail = ['images', '--dsm', 'dsm', '--out-dir', out, '--no-quicklook',
            '--device', 'cpu']
    if options:
        tail += ['--cfg-options', *options]
    if launcher == 'predict.py':
        return [sys.executable, osp.join(REPO, 'tools', 'predict.py'),
                config, checkpoint, *tail]
    return ['bash', osp.join(REPO, 'tools', 'dist_predict.sh'), config,
            checkpoint, str(processes), *tail]


def _labels(folder: str) -> dict:
    from mmseg_lanet.datasets.raster_io import read_raster
    return {name: read_raster(osp.join(folder, name))
            for name in sorted(os.listdir(folder)) if name.endswith('.tif')}


def _run_case(launcher: str, processes: int, threads: int, model: str,
              checkpoint: str, folder: str, out: str, count: int) -> tuple:
    """One timed command into an emptied ``out``: its seconds, the seconds
    spent predicting (dist_predict.sh's summary, else None) and the maps."""
    os.makedirs(out, exist_ok=True)
    empty_folder(out)  # a rerun would skip every map
    # No PORT: on one node dist_predict.sh takes a free one.
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    start = time.perf_counter()
    proc = subprocess.run(
        _command(launcher, processes, model, checkpoint, out), cwd=folder,
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f'{launcher} failed:\n{proc.stdout[-3000:]}')
    maps = _labels(out)
    if len(maps) != count:
        raise RuntimeError(f'{launcher}: {len(maps)} maps, not {count}')
    predicting = PREDICTING.search(proc.stdout)
    return (seconds, float(predicting.group(1)) if predicting else None,
            maps)


def benchmark(work_dir: str, count: int = 8, size: int = 320,
              model: str = 'r18', threads: Sequence[int] = (1, 2),
              repeat: int = 3) -> List[dict]:
    """Run every case of :func:`cases` ``repeat`` times on ``count``
    rasters, the cases in turn in each round (so a busy moment of the
    machine does not fall on one case only).

    Returns:
        list[dict]: Per case: ``name``, ``seconds`` (median wall time of the
        command), ``predicting`` (median seconds spent predicting, from
        dist_predict.sh's summary, else None) and ``different_pixels``
        (against the 2 processes' maps, the most over the rounds).
    """
    # The commands run in the rasters' folder: paths must not be relative.
    work_dir = osp.abspath(work_dir)
    folder = write_rasters(osp.join(work_dir, f'rasters_{size}'), count,
                           size)
    checkpoint = save_random_checkpoint(
        model, osp.join(work_dir, f'{model}_random.pth'))
    out = osp.join(work_dir, 'out')
    runs = {name: [] for name, *_ in cases(threads)}
    reference = None
    for _ in range(repeat):
        for name, launcher, processes, n in cases(threads):
            seconds, predicting, maps = _run_case(
                launcher, processes, n, model, checkpoint, folder, out, count)
            reference = reference or maps
            different = sum(int(np.count_nonzero(maps[k] != reference[k]))
                            for k in reference)
            runs[name].append((seconds, predicting, different))
    rows = []
    for name, values in runs.items():
        predicting = [p for _, p, _ in values if p is not None]
        rows.append(dict(
            name=name,
            seconds=float(np.median([s for s, _, _ in values])),
            predicting=float(np.median(predicting)) if predicting else None,
            different_pixels=max(d for _, _, d in values)))
    return rows


def summarise(rows: List[dict], count: int, size: int) -> List[str]:
    """The table and the ratios the sharding is judged by: 2 processes
    against 1 of 1 thread (target <= 0.6x) and against 1 of 2 threads
    (target <= 1x), for the whole commands and for the predicting alone."""
    row = {r['name']: r for r in rows}
    lines = [f'{count} rasters of {size} x {size} pixels '
             '(medians, command / predicting):']
    for r in rows:
        predicting = ('' if r['predicting'] is None else
                      f' / {r["predicting"]:5.1f} s')
        lines.append(f'  {r["name"]:<34} {r["seconds"]:6.1f} s{predicting:10}'
                     f'  {r["different_pixels"]} pixel(s) differ from the '
                     '2 processes\' maps')
    two = row[TWO_PROCESSES]
    for unit, target in (('1 thread', 0.6), ('2 threads', 1.0)):
        if f'predict.py, {unit}' not in row:
            continue
        one, one_dist = (row[f'predict.py, {unit}'],
                         row[f'dist_predict.sh 1, {unit}'])
        lines.append(
            f'  2 processes / 1 process of {unit}: '
            f'{two["seconds"] / one["seconds"]:.2f}x (commands), '
            f'{two["predicting"] / one_dist["predicting"]:.2f}x (predicting)'
            f'; target <= {target}')
    return lines
