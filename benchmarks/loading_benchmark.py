"""Training-data throughput: samples/s through a config's real training
pipeline, per worker and through a ``DataLoader``, before (whole-tile
loading) and after (crop-first loading).

``tools/analysis_tools/benchmark_data.py`` is the command line; the figures
it prints are in ``docs/user_guides/benchmark.md``. Nothing here is a test of
speed. :func:`whole_tile_pipeline` also serves the test that crop-first
loading gives the whole-tile arrays.
"""
import copy
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.utils.dl_utils import set_multi_processing
from torch.utils.data import DataLoader, RandomSampler

from mmseg.registry import DATASETS
from mmseg_lanet.datasets.converters.convert import (MANIFEST,
                                                     WINDOWED_LAYOUT,
                                                     optical_moments)
from mmseg_lanet.datasets.raster_io import write_raster

CROP_STEPS = ('LoadMultiBandCrop', 'RandomCrop')
LABEL_DIRS = ('ann_dir', 'ann_eroded_dir')


def generate_tile(root: str,
                  size: int,
                  optical_bands: int,
                  layout: str = WINDOWED_LAYOUT,
                  split: str = 'train',
                  name: str = 'bench',
                  seed: int = 0) -> None:
    """Write one synthetic tile in the converter's layout and add its
    record to ``conversion.json``.

    Args:
        root (str): Output data root.
        size (int): Tile side in pixels (ISPRS Potsdam: 6000).
        optical_bands (int): Bands of the optical file (Potsdam 4).
        layout (str): 'windowed' (TIFF labels, the converter's output) or
            'whole_tile' (PNG labels, data converted before).
        split (str): Split folder.
        name (str): Tile name.
        seed (int): Random seed.
    """
    rng = np.random.default_rng(seed)
    # 32 px blocks of one class: crops hold several classes, as real tiles.
    blocks = -(-size // 32)
    classes = rng.integers(0, 6, (blocks, blocks), np.uint8)
    labels = np.kron(classes, np.ones((32, 32), np.uint8))[:size, :size]
    eroded = labels.copy()
    eroded[::32] = 255
    img = rng.integers(0, 256, (size, size, optical_bands), np.uint8)
    dsm = (labels * 3.0 + rng.random((size, size))).astype(np.float32)
    label_suffix = '.tif' if layout == WINDOWED_LAYOUT else '.png'
    files = {
        osp.join('img_dir', split, name + '.tif'): img,
        osp.join('dsm_dir', split, name + '.tif'): dsm,
        osp.join('ann_dir', split, name + label_suffix): labels,
        osp.join('ann_eroded_dir', split, name + label_suffix): eroded,
    }
    for relative, array in files.items():
        write_raster(osp.join(root, relative), array)
    dsm64 = dsm.astype(np.float64)
    record = dict(split=split, size=[size, size], files=sorted(files),
                  dsm_count=int(dsm64.size), dsm_sum=float(dsm64.sum()),
                  dsm_sum_sq=float(np.square(dsm64).sum()),
                  **optical_moments(img))
    manifest_path = osp.join(root, MANIFEST)
    manifest = dict(settings=dict(dataset='generated'), tiles={})
    if osp.isfile(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    manifest['tiles'][name] = record
    if layout == WINDOWED_LAYOUT:
        manifest['layout'] = WINDOWED_LAYOUT
    else:  # as written before the windowed layout: no optical statistics
        for key in ('img_count', 'img_sum', 'img_sum_sq'):
            record.pop(key)
    with open(manifest_path, 'w') as f:
        json.dump(manifest, f)


def whole_tile_pipeline(pipeline: Sequence[dict]) -> list:
    """The whole-tile pipeline that a crop-first training pipeline stands
    for: each ``LoadMultiBandCrop`` becomes ``LoadMultiBandImageFromFile``
    -> ``LoadISPRSAnnotations`` -> (``NormalizeDSM``, if it comes next) ->
    ``RandomCrop`` with the same crop size, ``cat_max_ratio`` and ignore
    index. Both consume the same random draws, so for one seed they give the
    same arrays; used for the before/after benchmark and its test.

    Args:
        pipeline (Sequence[dict]): Transform configs.

    Returns:
        list[dict]: The whole-tile pipeline.
    """
    steps, out, index = list(pipeline), [], 0
    while index < len(steps):
        step = steps[index]
        index += 1
        if step['type'] != 'LoadMultiBandCrop':
            out.append(step)
            continue
        ignore_index = step.get('ignore_index', 255)
        out.append(dict(type='LoadMultiBandImageFromFile',
                        num_bands=step.get('num_bands')))
        if step.get('with_labels', True):
            out.append(dict(type='LoadISPRSAnnotations',
                            ignore_index=ignore_index))
        if index < len(steps) and steps[index]['type'] == 'NormalizeDSM':
            out.append(steps[index])
            index += 1
        out.append(dict(type='RandomCrop', crop_size=step['crop_size'],
                        cat_max_ratio=step.get('cat_max_ratio', 1.0),
                        ignore_index=ignore_index))
    return out


def _with_crop_size(pipeline: Sequence[dict], crop_size) -> List[dict]:
    return [dict(step, crop_size=tuple(crop_size))
            if crop_size and step['type'] in CROP_STEPS else dict(step)
            for step in pipeline]


def _dataset_cfg(cfg: Config, data_root: Optional[str], pipeline,
                 **overrides) -> dict:
    dataset = copy.deepcopy(cfg.train_dataloader.dataset)
    if data_root:
        dataset.data_root = data_root
    dataset.pipeline = pipeline
    dataset.update(overrides)
    return dataset


def _rss_mb(pid: int) -> Dict[str, float]:
    """Resident memory of a process: ``rss`` (VmRSS, counts pages shared
    with the parent after fork) and ``private`` (its own pages only)."""
    figures = {}
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                figures['rss'] = int(line.split()[1]) / 1024
    try:
        with open(f'/proc/{pid}/smaps_rollup') as f:
            private = sum(int(line.split()[1]) for line in f
                          if line.startswith(('Private_Clean',
                                              'Private_Dirty')))
        figures['private'] = private / 1024
    except OSError:
        pass
    return figures


def _seed_worker(worker_id: int) -> None:
    # Forked workers share NumPy's state: seed each, as mmengine does.
    np.random.seed(worker_id)


def worker_rate(dataset, samples: int) -> Dict[str, float]:
    """One process indexing the data set (one worker's rate): samples per
    wall-clock second, and per CPU second of the process (the rate of a
    worker that has a core to itself, which a shared machine's wall clock
    understates).
    """
    np.random.seed(0)
    dataset[0]  # warm-up: file headers, page cache
    wall, cpu = time.perf_counter(), time.process_time()
    for index in range(samples):
        dataset[index % len(dataset)]
    return dict(wall=samples / (time.perf_counter() - wall),
                cpu=samples / (time.process_time() - cpu))


def loader_rate(dataset, workers: int, samples: int,
                batch_size: int) -> Dict[str, float]:
    """Samples/s through a ``DataLoader`` with ``workers`` processes (after
    one batch per worker to start them), and the workers' peak memory.
    """
    batches = max(1, samples // batch_size)
    sampler = RandomSampler(
        dataset, replacement=True,
        num_samples=(batches + workers + 1) * batch_size)
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler,
                        num_workers=workers, collate_fn=pseudo_collate,
                        worker_init_fn=_seed_worker)
    iterator = iter(loader)
    for _ in range(max(workers, 1)):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    rate = batches * batch_size / (time.perf_counter() - start)
    memory = [_rss_mb(w.pid) for w in getattr(iterator, '_workers', [])]
    del iterator
    return dict(
        rate=rate,
        rss_mb=max((m['rss'] for m in memory), default=float('nan')),
        private_mb=max((m.get('private', float('nan')) for m in memory),
                       default=float('nan')))


def benchmark_loading(config: str,
                      data_root: Optional[str] = None,
                      generate: bool = False,
                      tile_size: int = 6000,
                      crop_size: Optional[Sequence[int]] = None,
                      samples: int = 200,
                      workers: Sequence[int] = (1, 2),
                      batch_size: Optional[int] = None,
                      before: bool = False,
                      before_samples: int = 3,
                      work_dir: Optional[str] = None) -> dict:
    """Measure a config's training data path.

    Args:
        config (str): Config file; its ``train_dataloader`` is measured.
        data_root (str, optional): Data root instead of the config's.
        generate (bool): Measure on a generated ``tile_size`` tile (in
            ``work_dir``) instead of the data root.
        tile_size (int): Side of the generated tile.
        crop_size (Sequence[int], optional): (h, w) instead of the
            config's crop.
        samples (int): Samples timed per measurement.
        workers (Sequence[int]): DataLoader worker counts to measure
            (empty: none).
        batch_size (int, optional): DataLoader batch size; defaults to the
            config's.
        before (bool): Also measure today's whole-tile pipeline
            (:func:`whole_tile_pipeline`), on a whole-tile layout copy of
            the generated tile (PNG labels, statistics computed per sample)
            or on the data root as it is.
        before_samples (int): Samples timed for the whole-tile pipeline.
        work_dir (str, optional): Where to generate; defaults to
            ``work_dirs/benchmark_data``.

    Returns:
        dict: ``after`` (and ``before``) with ``worker_rate`` (``wall``
        and ``cpu`` samples/s, see :func:`worker_rate`) and ``loader``
        (workers -> rate, rss_mb, private_mb); ``crop_size``,
        ``data_root``, ``samples``, ``batch_size``.
    """
    init_default_scope('mmseg')
    cfg = Config.fromfile(config)
    # As the Runner does before training (OpenCV single-threaded by
    # default): OpenCV's thread pool otherwise spends CPU beside the worker.
    set_multi_processing(**cfg.get('env_cfg', {}).get('mp_cfg', {}))
    pipeline = _with_crop_size(cfg.train_dataloader.dataset.pipeline,
                               crop_size)
    batch_size = batch_size or cfg.train_dataloader.batch_size
    roots = dict(after=data_root, before=data_root)
    if generate:
        work_dir = work_dir or osp.join('work_dirs', 'benchmark_data')
        dataset_type = DATASETS.get(cfg.train_dataloader.dataset.type)
        bands = len(dataset_type.METAINFO['file_bands'])
        for key, layout in (('after', WINDOWED_LAYOUT),
                            ('before', 'whole_tile')):
            if key == 'before' and not before:
                continue
            roots[key] = osp.join(work_dir, f'{layout}_{tile_size}')
            if not osp.isfile(osp.join(roots[key], MANIFEST)):
                generate_tile(roots[key], tile_size, bands, layout)
    prefix = copy.deepcopy(cfg.train_dataloader.dataset.data_prefix)
    if generate:  # one generated split, whatever the config's folders
        prefix.update(img_path='img_dir/train', dsm_path='dsm_dir/train')
        if 'seg_map_path' in prefix:
            prefix.seg_map_path = osp.join(
                osp.normpath(prefix.seg_map_path).split(os.sep)[0], 'train')
    results = dict(samples=samples, batch_size=batch_size,
                   crop_size=next((tuple(s['crop_size']) for s in pipeline
                                   if s['type'] in CROP_STEPS), None),
                   data_root=roots['after'] or cfg.train_dataloader.dataset
                   .get('data_root'))
    variants = [('after', pipeline, {}, samples)]
    if before:
        variants.append(('before', whole_tile_pipeline(pipeline),
                         dict(manifest=None) if generate else {},
                         before_samples))
    for key, steps, overrides, count in variants:
        dataset = DATASETS.build(
            _dataset_cfg(cfg, roots[key], steps, data_prefix=prefix,
                         **overrides))
        torch.set_num_threads(1)
        figures = dict(worker_rate=worker_rate(dataset, count), loader={})
        for num in workers if key == 'after' else ():
            figures['loader'][num] = loader_rate(dataset, num, count,
                                                 batch_size)
        results[key] = figures
    return results


def format_report(results: dict, gpu_rate: Optional[float] = None) -> str:
    """The figures of :func:`benchmark_loading` as text."""
    crop = results['crop_size']
    lines = [f'training data path, {crop[0]} x {crop[1]} crops from '
             f'{results["data_root"]} ({results["samples"]} samples per '
             f'measurement, batch {results["batch_size"]})']
    for key, title in (('before', 'whole-tile loading (before)'),
                       ('after', 'crop-first loading')):
        if key not in results:
            continue
        figures = results[key]
        rate = figures['worker_rate']['wall']
        line = (f'  {title}: {rate:.2f} samples/s per worker '
                f'({figures["worker_rate"]["cpu"]:.2f} per CPU second)')
        if gpu_rate:
            line += (f'; a GPU consuming {gpu_rate:g} samples/s needs '
                     f'{int(np.ceil(gpu_rate / rate))} such workers')
        lines.append(line)
        for num, loader in figures['loader'].items():
            lines.append(
                f'    DataLoader, {num} worker(s): {loader["rate"]:.1f} '
                f'samples/s, worker RSS {loader["rss_mb"]:.0f} MB '
                f'(private {loader["private_mb"]:.0f} MB)')
    loaders = results.get('after', {}).get('loader', {})
    if 1 in loaders and 2 in loaders:
        lines.append(f'  2 workers / 1 worker: '
                     f'{loaders[2]["rate"] / loaders[1]["rate"]:.2f}x')
    if 'before' in results:
        after, before = (results[key]['worker_rate']['wall']
                         for key in ('after', 'before'))
        lines.append(
            f'  crop-first / whole-tile, per worker: {after / before:.0f}x')
    return '\n'.join(lines)
