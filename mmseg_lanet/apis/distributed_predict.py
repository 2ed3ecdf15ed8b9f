"""Maps of many rasters by several processes (started by
``tools/dist_predict.sh``, torchrun or srun), each predicting its share of
the inputs with :meth:`RasterInferencer.predict_one`.

Rank 0 lists the inputs, leaves out those whose maps exist (a rerun, with
any number of processes, only predicts what is missing), and shares the
rest out by pixel count (:func:`shard_by_pixels`); every rank gets the same
plan from it. A raster that fails is reported by its rank and the others go
on. At the end rank 0 gathers the results, logs one summary line (maps
written, skipped, failed, pixels per second) and writes ``mosaic.vrt``, a
GDAL virtual mosaic of every map in the output folder
(:func:`~mmseg_lanet.datasets.vrt_mosaic.write_mosaic_vrt`).

The processes talk over gloo, whatever device they predict on: they only
exchange the plan and the results.
"""
import contextlib
import logging
import os
import os.path as osp
import time
from datetime import timedelta
from typing import List, Sequence, Union

from ..datasets.raster_io import raster_shape
from ..datasets.vrt_mosaic import write_mosaic_vrt
from .process_signals import sigterm_raises
from .raster_inference import (RasterInferencer, maps_exist, output_paths,
                               summary_line)

logger = logging.getLogger(__name__)

MOSAIC_NAME = 'mosaic.vrt'
# The results are gathered when the last rank is done: the others wait in
# that collective as long as its share takes (a dead rank stops the whole
# job through its launcher and gloo's closed connections, not through this
# timeout).
GATHER_TIMEOUT = timedelta(days=7)


def shard_by_pixels(pixels: Sequence[int], world_size: int) -> List[List[int]]:
    """Share items out among ``world_size`` processes by their pixels.

    Largest first, each to the process with the fewest pixels so far (the
    lowest rank on a tie), so shares differ by at most the largest item;
    the same sizes always give the same shares.

    Args:
        pixels (Sequence[int]): Pixels of each item.
        world_size (int): Number of processes.

    Returns:
        list[list[int]]: For each rank, the indices of its items, in input
        order.
    """
    shares = [[] for _ in range(world_size)]
    loads = [0] * world_size
    for index in sorted(range(len(pixels)), key=lambda i: (-pixels[i], i)):
        rank = min(range(world_size), key=lambda r: (loads[r], r))
        shares[rank].append(index)
        loads[rank] += pixels[index]
    return [sorted(share) for share in shares]


@contextlib.contextmanager
def predict_group(launcher: str):
    """Join the job's processes in a gloo group for the block (torchrun's
    environment, or srun's for ``launcher='slurm'``), and destroy it when
    the block exits, also on an error (see
    :func:`mmseg_lanet.engine.cli.closes_process_group`). Yields this
    process's rank.

    Raises:
        ImportError: torch is not installed (an ONNX model's deploy
            environment).
        ValueError: The launcher's variables are missing.
    """
    try:
        import torch.distributed as dist
    except ImportError as err:
        raise ImportError(
            f'--launcher {launcher}: the processes of a distributed '
            'prediction share the inputs out through torch.distributed '
            '(gloo), and torch is not installed here; install torch (its '
            'CPU build is enough), or run tools/predict.py once per share '
            'of the inputs') from err
    if launcher == 'slurm':
        from ..engine.cpu_distributed import slurm_environment
        slurm_environment()
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
               if k not in os.environ]
    if missing:
        raise ValueError(
            f'--launcher {launcher} expects its launcher to set '
            f'{", ".join(missing)}; start the run with tools/dist_predict.sh '
            '(or slurm_predict.sh, torchrun)')
    dist.init_process_group('gloo', timeout=GATHER_TIMEOUT)
    try:
        yield dist.get_rank()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _plan(inferencer: RasterInferencer, inputs, out_dir: str, dsm,
          world_size: int) -> dict:
    """Rank 0's plan: the maps already there, and each rank's inputs."""
    pairs = inferencer.input_pairs(inputs, out_dir, dsm)
    todo = [(image, height) for image, height in pairs if not maps_exist(
        output_paths(image, out_dir, inferencer.options))]
    pixels = []
    for image, _ in todo:
        try:
            rows, cols = raster_shape(image)[:2]
        except (ValueError, OSError):  # reported by predict_one
            rows = cols = 0
        pixels.append(rows * cols)
    shares = shard_by_pixels(pixels, world_size)
    return dict(images=[image for image, _ in pairs],
                shares=[[(*todo[i], pixels[i]) for i in share]
                        for share in shares])


def _broadcast(obj, rank: int):
    import torch.distributed as dist
    box = [obj if rank == 0 else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def predict_distributed(inferencer: RasterInferencer,
                        inputs: Union[str, Sequence[str]],
                        out_dir: str,
                        dsm: Union[None, str, Sequence[str]] = None
                        ) -> List[dict]:
    """Predict ``inputs`` into ``out_dir`` with every process of the
    group, each on its share (see the module's doc).

    Returns:
        list[dict]: On every rank, the results of every raster in input
        order (as :meth:`RasterInferencer.__call__`); those 'done' with
        their ``pixels``.

    Raises:
        ValueError, FileNotFoundError: Bad input found while planning (on
            every rank, with rank 0's message).
    """
    import torch.distributed as dist
    rank, world_size = dist.get_rank(), dist.get_world_size()
    start = time.perf_counter()
    plan = error = None
    if rank == 0:
        try:
            plan = _plan(inferencer, inputs, out_dir, dsm, world_size)
        except (ValueError, FileNotFoundError) as err:
            error = err
    plan, error = _broadcast((plan, error), rank)
    if error is not None:
        raise error
    results = []
    with sigterm_raises():  # not in the collectives: see process_signals
        for image, height, pixels in plan['shares'][rank]:
            result = inferencer.predict_one(image, out_dir, height)
            if result['status'] == 'done':
                result['pixels'] = pixels
            results.append(result)
    gathered = [None] * world_size if rank == 0 else None
    dist.gather_object(results, gathered, dst=0)
    if rank == 0:
        seconds = time.perf_counter() - start
        by_image = {r['image']: r for r in sum(gathered, [])}
        results = [by_image.get(image) or dict(status='skipped', image=image)
                   for image in plan['images']]
        pixels = sum(r.get('pixels', 0) for r in results)
        logger.info(f'{summary_line(results)}; {world_size} process(es), '
                    f'{pixels} pixels predicted in {seconds:.1f} s '
                    f'({pixels / seconds:.0f} pixels/s)')
        _write_mosaic(results, out_dir, inferencer)
    # Every rank returns once rank 0 is done writing: a job ends when one
    # of its processes exits non-zero.
    return _broadcast(results, rank)


def _write_mosaic(results: Sequence[dict], out_dir: str,
                  inferencer: RasterInferencer) -> None:
    maps = [output_paths(r['image'], out_dir, inferencer.options)['labels']
            for r in results if r['status'] != 'failed']
    vrt = osp.join(out_dir, MOSAIC_NAME)
    reason = write_mosaic_vrt(maps, vrt)
    if reason is None:
        logger.info(f'{len(maps)} map(s) -> {vrt} (one layer in a GIS)')
    else:
        logger.warning(f'no {vrt}: {reason}')
