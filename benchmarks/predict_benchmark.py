"""Time and peak memory of raster inference, each case in its own process.

Cases (``method``):

- ``predict``: :class:`RasterInferencer` from GeoTIFF files to a label
  GeoTIFF (windows read, blended in a band of rows and written as final);
  ``mode`` 'bounded' or 'whole'; also reports the time spent reading
  windows (``read_seconds``, in the read-ahead thread);
- ``slide`` / ``blend``: the raster already in memory as one tensor, through
  the segmentor's test mode: MMSeg's ``slide`` (windows one at a time) or
  this plugin's ``blend`` (:class:`BlendEncoderDecoder`, batched windows),
  at the same window and stride; only the inference is timed.

With ``amp`` every case runs under autocast (float16 on CUDA, bfloat16 on
CPU): MMSeg's slide as mmengine's ``TestLoop(fp16=True)`` runs it, blend
and predict as ``--amp`` of ``tools/predict.py`` does.

Each case runs in a fresh Python process so that its peak RSS
(:func:`peak_rss_mib`) is its own. On CUDA every case runs with
``cudnn.benchmark`` on, as ``tools/test.py`` does through the configs'
``env_cfg``, and is timed after a first, untimed run: the warm-up that
searches convolution algorithms for the case's shapes. With ``repeats``
a case is timed that many times and reports the median: MMSeg's slide is
bound by launching operators, so its time follows the host's load. Used by
``tools/analysis_tools/benchmark_predict.py``.
"""
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

import numpy as np

from mmseg_lanet.datasets.georaster import RasterWriter, has_rasterio
from mmseg_lanet.datasets.synthetic import generate_scene, terrain_dsm

# The repository: configs/ is not in the installed package.
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
MODELS = dict(
    r50=dict(config='configs/lanet/'
             'lanet_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512.py',
             options={}),
    r18=dict(config='configs/sample/'
             'lanet_r18-d32_1xb4-200i_sample-potsdam-rgbir-dsm-256x256.py',
             options={}),
    # The tool tests' tiny LANet (8-channel ResNet-18 stem).
    tiny=dict(config='configs/sample/'
              'lanet_r18-d32_1xb4-200i_sample-potsdam-rgbir-dsm-256x256.py',
              options={'model.backbone.stem_channels': 8,
                       'model.backbone.base_channels': 8,
                       'model.decode_head.in_channels': [8, 64],
                       'model.decode_head.channels': 16,
                       'model.decode_head.low_channels': 8}),
)
# One synthetic scene tiled over the raster: real-looking content at the
# cost of generating one tile.
SCENE_SIZE = 512


def write_test_rasters(folder: str, size: int, seed: int = 0) -> Dict:
    """A ``size`` x ``size`` R-G-B-NIR uint8 GeoTIFF and its DSM (float32),
    EPSG:32633 at 5 cm, written by bands of rows (bounded memory). Without
    rasterio: plain TIFFs.

    Returns:
        dict: ``image`` and ``dsm`` paths.
    """
    rng = np.random.default_rng(seed)
    scene = generate_scene(SCENE_SIZE, SCENE_SIZE, rng)
    dsm_tile = terrain_dsm(scene, 35., rng)
    paths = dict(image=osp.join(folder, f'ortho_{size}.tif'),
                 dsm=osp.join(folder, f'dsm_{size}.tif'))
    if all(osp.isfile(p) for p in paths.values()):
        return paths
    geo = {}
    if has_rasterio():
        from rasterio.crs import CRS
        from rasterio.transform import from_origin
        geo = dict(crs=CRS.from_epsg(32633),
                   transform=from_origin(368000., 5808000., 0.05, 0.05))
    reps = -(-size // SCENE_SIZE)
    with RasterWriter(paths['image'], size, size, 4, **geo) as image, \
            RasterWriter(paths['dsm'], size, size, 1, 'float32',
                         **geo) as dsm:
        for first in range(0, size, SCENE_SIZE):
            rows = min(SCENE_SIZE, size - first)
            bands = np.tile(scene.reflectance.transpose(2, 0, 1),
                            (1, 1, reps))[:, :rows, :size]
            image.write(first, np.ascontiguousarray(bands))
            dsm.write(first, np.tile(dsm_tile, (1, reps))[:rows, :size])
    return paths


def _config(model: str):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, MODELS[model]['config']))
    cfg.merge_from_dict(MODELS[model]['options'])
    return cfg


def save_random_checkpoint(model: str, path: str) -> str:
    """A checkpoint of the model with its initial weights (speed and
    memory do not depend on the weights)."""
    import torch
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS as REGISTRY
    if not osp.isfile(path):
        init_default_scope('mmseg')
        torch.manual_seed(0)
        net = revert_sync_batchnorm(REGISTRY.build(_config(model).model))
        torch.save(dict(state_dict=net.state_dict(), meta={}), path)
    return path


def run_case(case: dict) -> dict:
    """Run one case in this process; returns its figures."""
    import torch
    from mmengine.config import ConfigDict
    import mmseg_lanet  # noqa: F401
    from mmseg_lanet.apis.raster_inference import (PredictOptions,
                                                   RasterInferencer)
    from mmseg_lanet.apis.raster_input import RasterInput
    from mmseg_lanet.apis.segmentor_loading import count_batch_norms
    from mmseg_lanet.inference.torch_predict import amp_dtype
    torch.set_num_threads(case.get('threads') or torch.get_num_threads())
    cuda = case['device'].startswith('cuda')
    torch.backends.cudnn.benchmark = cuda
    options = PredictOptions(
        window=tuple(case['window']), stride=tuple(case['stride']),
        batch_size=case['batch_size'], mode=case.get('mode', 'bounded'),
        quicklook=False, channels_last=case.get('channels_last', False),
        amp=case.get('amp', False),
        fold_norms=case.get('fold_norms', False))
    inferencer = RasterInferencer(_config(case['model']), case['checkpoint'],
                                  case['device'], options)
    sync = torch.cuda.synchronize if cuda else lambda: None
    repeats = case.get('repeats', 1)
    # Batch norms left in the model: 0 when folded, for every method.
    result = dict(batch_norms=count_batch_norms(inferencer.model))
    # The type the backbone computed in: shows that autocast reached it.
    inferencer.model.backbone.register_forward_hook(
        lambda module, args, out: result.update(
            backbone_dtype=str(out[-1].dtype).replace('torch.', '')))
    if case['method'] == 'predict':
        runs = _time_predict(inferencer, case, result, sync)
    else:
        source = RasterInput(inferencer.spec, case['image'], dsm=case['dsm'])
        pixels, _ = source.read((0, 0, *source.shape))
        source.close()
        model = inferencer.model
        model.test_cfg = ConfigDict(mode=case['method'],
                              crop_size=tuple(case['window']),
                              stride=tuple(case['stride']),
                              batch_size=case['batch_size'])
        images = torch.from_numpy(pixels)[None].to(case['device'])
        shape = tuple(images.shape[2:])
        metas = [dict(img_shape=shape, ori_shape=shape, pad_shape=shape,
                      padding_size=[0, 0, 0, 0])]
        autocast = torch.autocast(
            images.device.type, dtype=amp_dtype(images.device),
            enabled=case.get('amp', False))
        with torch.no_grad(), autocast:
            if case.get('warmup'):
                model.inference(images, metas)
            runs = _time_runs(lambda: model.inference(images, metas),
                              repeats, sync)
    result.update(seconds=float(np.median(runs)), runs=runs)
    result['peak_rss_mib'] = peak_rss_mib()
    if case['device'].startswith('cuda'):
        result['peak_cuda_mib'] = torch.cuda.max_memory_allocated() / 2**20
    return result


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB since it started its
    program: ``VmHWM`` of ``/proc/self/status``. ``ru_maxrss`` is not: a
    child keeps its parent's peak from before ``exec`` (a case run from a
    parent of 1 GiB reported at least 1 GiB); it is the fallback where
    ``/proc`` is missing."""
    try:
        with open('/proc/self/status') as status:
            for line in status:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _time_predict(inferencer, case: dict, result: dict, sync) -> List[float]:
    """Time ``inferencer`` over the case's raster (the 'predict' method):
    returns the seconds of each run, and adds to ``result`` the windows
    predicted and the median time spent reading windows."""
    from mmseg_lanet.apis.raster_input import RasterInput

    # Time spent reading windows (in the read-ahead thread, beside the
    # model): on a GPU it bounds prediction from files. This process runs
    # this case alone, so the class can be wrapped.
    read, spent = RasterInput.read, []

    def timed_read(source, window):
        start = time.perf_counter()
        try:
            return read(source, window)
        finally:
            spent.append(time.perf_counter() - start)

    RasterInput.read = timed_read
    if case.get('warmup'):
        inferencer(case['image'], case['out_dir'] + '_warmup', case['dsm'],
                   progress=False)
    reads, outs = [], []

    def predict():
        spent.clear()
        outs.append(inferencer(case['image'], case['out_dir'], case['dsm'],
                               progress=False)[0])
        reads.append(sum(spent))

    # A finished raster is skipped by a rerun: each run starts empty.
    runs = _time_runs(predict, case.get('repeats', 1), sync,
                      prepare=lambda: empty_folder(case['out_dir']))
    result.update(windows=outs[-1].get('predicted'),
                  read_seconds=float(np.median(reads)))
    return runs


def run_onnx_case(case: dict) -> dict:
    """The 'predict' method through the exported model on onnxruntime
    (``case['onnx']``), in a process where torch and OpenMMLab cannot be
    imported (:func:`run_case_in_subprocess`): its peak RSS is what a
    deploy install uses."""
    from mmseg_lanet.apis.raster_inference import (PredictOptions,
                                                   RasterInferencer)
    from mmseg_lanet.inference.onnx_predict import OnnxSegmentor
    options = PredictOptions(
        window=tuple(case['window']), stride=tuple(case['stride']),
        batch_size=case['batch_size'], mode=case.get('mode', 'bounded'),
        quicklook=False)
    inferencer = RasterInferencer(
        OnnxSegmentor(case['onnx'], threads=case.get('threads')),
        options=options)
    result = {}
    runs = _time_predict(inferencer, case, result, lambda: None)
    result.update(seconds=float(np.median(runs)), runs=runs)
    result['peak_rss_mib'] = peak_rss_mib()
    result['torch_imported'] = any(
        sys.modules.get(name) for name in ('torch', 'mmcv', 'mmseg'))
    return result


def _time_runs(run, repeats: int, sync, prepare=lambda: None) -> List[float]:
    """Seconds of each of ``repeats`` calls of ``run`` (``prepare`` before
    each, untimed; ``sync`` waits for the device)."""
    seconds = []
    for _ in range(repeats):
        prepare()
        sync()
        start = time.perf_counter()
        run()
        sync()
        seconds.append(time.perf_counter() - start)
    return seconds


def empty_folder(folder: str):
    """Remove the files of ``folder``, if it exists."""
    if osp.isdir(folder):
        for name in os.listdir(folder):
            os.remove(osp.join(folder, name))


def run_case_in_subprocess(case: dict, timeout: float = 3600) -> dict:
    """:func:`run_case` in a fresh interpreter (clean peak RSS); an
    onnxruntime case (:func:`run_onnx_case`) where torch, mmcv, mmengine
    and mmseg cannot be imported, as in a deploy install."""
    onnx = case.get('backend') == 'onnxruntime'
    # None in sys.modules: `import torch` fails, find_spec finds nothing.
    block = ('sys.modules.update(dict.fromkeys(("torch", "mmcv", "mmengine",'
             ' "mmseg"))); ' if onnx else '')
    code = (f'import json, sys; {block}from benchmarks.predict_benchmark '
            f'import {"run_onnx_case" if onnx else "run_case"} as run; '
            'print("RESULT " + json.dumps(run(json.loads(sys.argv[1]))))')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [REPO] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    proc = subprocess.run([sys.executable, '-c', code, json.dumps(case)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, env=env)
    lines = [ln for ln in proc.stdout.splitlines()
             if ln.startswith('RESULT ')]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f'benchmark case {case} failed:\n'
                           f'{proc.stdout[-4000:]}')
    return json.loads(lines[-1][len('RESULT '):])


def benchmark(work_dir: str,
              sizes: Sequence[int],
              methods: Sequence[str],
              model: str = 'r50',
              device: str = 'cpu',
              window: Sequence[int] = (512, 512),
              stride: Sequence[int] = (341, 341),
              batch_size: int = 4,
              threads: Optional[int] = None,
              channels_last: bool = False,
              amp: bool = False,
              fold_norms: bool = False,
              repeats: int = 1,
              backends: Sequence[str] = ('pytorch', ),
              log=print) -> List[dict]:
    """Run every (size, method) case, each in a subprocess.

    Args:
        work_dir (str): Where rasters, checkpoint and outputs go (rasters
            are reused by later runs).
        sizes (Sequence[int]): Raster sides.
        methods (Sequence[str]): Of 'predict' (bounded), 'predict-whole',
            'slide', 'blend'.
        model (str): A key of ``MODELS``.
        device (str): 'cpu' or 'cuda'.
        window, stride (Sequence[int]): Window and stride (h, w).
        batch_size (int): Windows per batch (predict, blend).
        threads (int, optional): torch CPU threads per case.
        channels_last (bool): Run 'predict' and 'blend' in the channels-last
            memory format (MMSeg's 'slide' as ``tools/test.py`` runs it).
        amp (bool): Every case under autocast (see the module doc).
        fold_norms (bool): Every case, MMSeg's slide included, with batch
            norms folded into their convolutions (``--fuse-conv-bn`` of
            ``tools/predict.py``).
        repeats (int): Timed runs per case (after the warm-up on CUDA);
            a row's ``seconds`` is their median, ``runs`` all of them.
        backends (Sequence[str]): 'pytorch' and/or 'onnxruntime': the
            predict methods also through the model exported to ONNX
            (:func:`mmseg_lanet.deploy.export.export_onnx`, once, checked at
            the window's size) on onnxruntime, whose row gives the fraction
            of its labels equal to PyTorch's (``label_agreement``) when
            both ran.
        log (callable): Receives one line per case.

    Returns:
        list[dict]: One row per case: the case's settings and figures.
    """
    os.makedirs(work_dir, exist_ok=True)
    checkpoint = save_random_checkpoint(
        model, osp.join(work_dir, f'random_{model}.pth'))
    onnx = None
    if 'onnxruntime' in backends:
        onnx = export_model(model, checkpoint, work_dir, window, log)
    rows = []
    for size in sizes:
        rasters = write_test_rasters(work_dir, size)
        for method, backend in ((m, b) for m in methods for b in backends
                                if b == 'pytorch' or m.startswith('predict')):
            suffix = '' if backend == 'pytorch' else f'_{backend}'
            out_dir = osp.join(work_dir, f'out_{method}_{size}{suffix}')
            empty_folder(out_dir)
            empty_folder(out_dir + '_warmup')
            case = dict(
                method='predict' if method.startswith('predict') else method,
                mode='whole' if method == 'predict-whole' else 'bounded',
                model=model, checkpoint=checkpoint, device=device,
                window=list(window), stride=list(stride),
                batch_size=1 if method == 'slide' else batch_size,
                threads=threads, image=rasters['image'],
                dsm=rasters['dsm'], out_dir=out_dir,
                warmup=device.startswith('cuda'),
                channels_last=channels_last and method != 'slide',
                amp=amp, fold_norms=fold_norms, repeats=repeats,
                backend=backend, onnx=onnx)
            figures = run_case_in_subprocess(case)
            reference = osp.join(work_dir, f'out_{method}_{size}')
            if backend != 'pytorch' and 'pytorch' in backends:
                figures['label_agreement'] = label_agreement(
                    out_dir, reference, rasters['image'])
            row = dict(size=size, method=method, backend=backend,
                       model=model, device=device,
                       window=tuple(window), stride=tuple(stride),
                       batch_size=case['batch_size'],
                       channels_last=case['channels_last'], amp=amp,
                       fold_norms=fold_norms, **figures)
            rows.append(row)
            log(format_row(row))
    return rows


def export_model(model: str, checkpoint: str, work_dir: str,
                 window: Sequence[int], log=print) -> str:
    """The model exported to ONNX for onnxruntime (dynamic sizes), once
    per work folder; checked against PyTorch at ``window``."""
    from mmseg_lanet.deploy.export import export_onnx
    path = osp.join(work_dir, f'random_{model}.onnx')
    if not osp.isfile(path):
        export_onnx(_config(model), checkpoint, path,
                    check_sizes=[tuple(window)], log=log)
    return path


def label_agreement(out_dir: str, reference_dir: str, image: str) -> float:
    """Fraction of the pixels whose labels in ``out_dir``'s map of
    ``image`` equal those of ``reference_dir``'s."""
    from mmseg_lanet.datasets.georaster import RasterReader
    name = osp.splitext(osp.basename(image))[0] + '.tif'
    labels = []
    for folder in (out_dir, reference_dir):
        with RasterReader(osp.join(folder, name)) as raster:
            labels.append(raster.read((0, 0, *raster.shape)))
    return float((labels[0] == labels[1]).mean())


def format_row(row: dict) -> str:
    extra = (f', peak CUDA {row["peak_cuda_mib"]:.0f} MiB'
             if 'peak_cuda_mib' in row else '')
    if 'read_seconds' in row:
        extra += f', reading {row["read_seconds"]:.2f} s'
    if 'label_agreement' in row:
        extra += (f', labels equal to PyTorch\'s on '
                  f'{100 * row["label_agreement"]:.3f} %')
    runs = row.get('runs', ())
    if len(runs) > 1:
        extra += (f', median of {len(runs)} runs '
                  f'({min(runs):.2f}-{max(runs):.2f} s)')
    precision = 'AMP ' if row.get('amp') else 'fp32'
    if row.get('fold_norms'):
        precision += ' BN folded'
    method = row['method'] + ('' if row.get('backend', 'pytorch') ==
                              'pytorch' else ' (ORT)')
    return (f'{row["size"]:>6} x {row["size"]:<6} {method:<20} '
            f'{row["model"]:<5} {row["device"]:<5} {precision} batch '
            f'{row["batch_size"]:<3} {row["seconds"]:9.2f} s  peak RSS '
            f'{row["peak_rss_mib"]:8.0f} MiB{extra}')


def summarise(rows: Sequence[dict]) -> List[str]:
    """Ratios the targets are about: peak RSS of the largest vs smallest
    raster (bounded predict), and slide time over blend time per size."""
    lines = []
    predict = {r['size']: r for r in rows if r['method'] == 'predict'
               and r.get('backend', 'pytorch') == 'pytorch'}
    if len(predict) >= 2:
        small, large = min(predict), max(predict)
        ratio = predict[large]['peak_rss_mib'] / predict[small]['peak_rss_mib']
        lines.append(f'peak RSS {large}^2 / {small}^2 (bounded predict): '
                     f'{ratio:.2f} (target <= 1.2)')
    for size in sorted({r['size'] for r in rows}):
        for method in ('predict', 'predict-whole'):
            by = {r.get('backend', 'pytorch'): r for r in rows
                  if r['size'] == size and r['method'] == method}
            if 'pytorch' in by and 'onnxruntime' in by:
                torch_row, ort = by['pytorch'], by['onnxruntime']
                lines.append(
                    f'{size}^2 {method}: onnxruntime '
                    f'{torch_row["seconds"] / ort["seconds"]:.2f}x as fast as'
                    f' PyTorch ({ort["seconds"]:.1f} vs '
                    f'{torch_row["seconds"]:.1f} s; target >= 1.8), peak '
                    f'RSS {ort["peak_rss_mib"]:.0f} vs '
                    f'{torch_row["peak_rss_mib"]:.0f} MiB (target: no '
                    'higher), labels equal on '
                    f'{100 * ort["label_agreement"]:.3f} % (target >= '
                    f'{99.99 if method == "predict-whole" else 99.9} %)')
        by = {r['method']: r for r in rows if r['size'] == size
              and r.get('backend', 'pytorch') == 'pytorch'}
        if 'slide' in by and 'blend' in by:
            speedup = by['slide']['seconds'] / by['blend']['seconds']
            lines.append(f'{size}^2: MMSeg slide / blend time: '
                         f'{speedup:.2f}x')
    return lines
