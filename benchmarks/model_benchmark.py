"""Cost and speed of segmentors, side by side, in one run on one device.

For every config: Params and FLOPs (:mod:`mmseg_lanet.models.complexity`),
inference latency at the crop size, training throughput (fp32, and AMP on
CUDA), and whole-tile and sliding-window inference time and peak memory on
large tiles. Models are built without pretrained weights (speed does not
depend on them) and with SyncBN as BN.

Timings are medians of ``reps`` calls after ``warmup`` calls. Peak memory on
CUDA is ``torch.cuda.max_memory_allocated`` with the counter reset *after*
the warm-up (with ``cudnn.benchmark`` the first call of a shape tries
algorithms with large workspaces that are not the model's needs); on CPU it
is the growth of the process's resident memory over its level before the
warm-up, sampled every millisecond (an estimate: the allocator may keep
memory of earlier calls).
"""
import os
import os.path as osp
import platform
import statistics
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.structures import PixelData
from torch import nn

from mmseg.structures import SegDataSample
from mmseg_lanet.apis.segmentor_loading import check_device
from mmseg_lanet.inference.torch_predict import amp_dtype
from mmseg_lanet.models.complexity import (build_segmentor, input_bands,
                                           measure_complexity)

#: ISPRS tiles in MMSeg's sliding-window test: 512 crops, stride 341.
SLIDE_CROP, SLIDE_STRIDE = 512, 341
MODES = ('whole', 'slide')


@dataclass
class Settings:
    """What to measure.

    Attributes:
        device (str): 'cpu', 'cuda' or 'cuda:N'.
        size (int): Side of the square input of FLOPs and latency.
        warmup (int): Untimed calls before each measurement.
        reps (int): Timed calls; the median is reported.
        train_batch (int): Batch of the training step (0: no training).
        train_size (int): Side of the training crops.
        amp (bool, optional): Also time training under autocast
            (:func:`amp_dtype`). None: on CUDA only.
        tile_sizes (tuple[int]): Sides of the large square tiles.
        tile_modes (tuple[str]): Inference modes on them, of :data:`MODES`.
        tile_reps (int): Timed calls per tile (after one warm-up call).
        slide_crop (int), slide_stride (int): The sliding window.
        tile_flops (bool): Also count FLOPs of whole-tile inference.
        timer (str): 'wall' (elapsed time) or, on CPU, 'process' (CPU time
            of this process: with one thread, stable on a shared machine
            where elapsed time depends on the other loads).
        cfg_options (dict, optional): Settings merged into every config
            (as ``--cfg-options`` of MMSeg's tools), e.g.
            ``{'model.decode_head.float32_under_amp': False}``.
        compile (str, optional): ``torch.compile`` backend of the training
            step's forward and loss ('inductor': what mmengine's
            ``compile=True`` does to ``train_step``); the warm-up calls pay
            the compilation. None: eager. Latency and tiles stay eager.
    """
    device: str = 'cpu'
    size: int = 512
    warmup: int = 3
    reps: int = 10
    train_batch: int = 8
    train_size: int = 512
    amp: Optional[bool] = None
    tile_sizes: Tuple[int, ...] = (2048, 6000)
    tile_modes: Tuple[str, ...] = MODES
    tile_reps: int = 3
    slide_crop: int = SLIDE_CROP
    slide_stride: int = SLIDE_STRIDE
    tile_flops: bool = False
    timer: str = 'wall'
    cfg_options: Optional[dict] = None
    compile: Optional[str] = None

    @classmethod
    def small(cls, device: str = 'cpu') -> 'Settings':
        """Seconds on a CPU: tiny inputs and batches, few repetitions."""
        return cls(device=device, size=64, warmup=1, reps=5, train_batch=2,
                   train_size=64, tile_sizes=(128, 256), tile_reps=5,
                   slide_crop=64, slide_stride=48, tile_flops=True)


@dataclass
class TileResult:
    """Inference on one large tile."""
    size: int
    mode: str
    seconds: float
    peak_mib: float
    flops_g: Optional[float] = None


@dataclass
class Result:
    """Everything measured for one config (None: not measured)."""
    name: str
    config: str
    bands: int
    params_m: float
    flops_g: float
    latency_ms: float
    train_img_s_fp32: Optional[float] = None
    train_img_s_amp: Optional[float] = None
    train_peak_mib: Optional[float] = None
    train_amp_peak_mib: Optional[float] = None
    tiles: List[TileResult] = field(default_factory=list)


def resolve_device(device: str) -> torch.device:
    """The device to measure on: one this machine has
    (:func:`~mmseg_lanet.apis.segmentor_loading.check_device`), CPU or
    CUDA (the memory counters are those two), with its index, which the
    report names.

    Raises:
        ValueError: Naming the device, if the machine lacks it or it is
            neither CPU nor CUDA.
    """
    found = check_device(device)
    if found.type == 'cuda':
        return torch.device('cuda', found.index if found.index is not None
                            else torch.cuda.current_device())
    if found.type != 'cpu':
        raise ValueError(f'device {device!r}: the benchmark runs on cpu, '
                         'cuda or cuda:N')
    return found


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config, naming the path if there is none, and merge
    ``cfg_options`` into it."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def _heads(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    heads = [('decode_head', model.decode_head)]
    aux = getattr(model, 'auxiliary_head', None)
    if isinstance(aux, nn.ModuleList):
        heads += [(f'auxiliary_head.{i}', h) for i, h in enumerate(aux)]
    elif aux is not None:
        heads.append(('auxiliary_head', aux))
    return heads


def check_head_fits_backbone(model: nn.Module, bands: int,
                             name: str = 'model') -> None:
    """Run the backbone on a small input and compare the channels of the
    features each head selects with the head's ``in_channels``.

    Raises:
        ValueError: Naming the model, the head, the feature index and both
            channel counts.
    """
    with torch.no_grad():
        feats = model.extract_feat(torch.zeros(1, bands, 64, 64))
    found = [f.shape[1] for f in feats]
    for head_name, head in _heads(model):
        indices = head.in_index if isinstance(head.in_index,
                                              (list, tuple)) else [
                                                  head.in_index]
        if max(indices) >= len(feats):
            raise ValueError(
                f'{name}: {head_name}.in_index={head.in_index} but the '
                f'backbone gives {len(feats)} feature levels')
        selected = [found[i] for i in indices]
        if head.input_transform == 'resize_concat':
            selected, expected = [sum(selected)], [head.in_channels]
        elif isinstance(head.in_channels, (list, tuple)):
            expected = list(head.in_channels)
        else:
            expected = [head.in_channels]
        if selected != expected:
            raise ValueError(
                f'{name}: {head_name} ({type(head).__name__}) does not fit '
                f'the backbone: in_channels={head.in_channels} at '
                f'in_index={head.in_index}, but the backbone features there '
                f'have {selected if len(selected) > 1 else selected[0]} '
                f'channels (all levels: {found})')


class _PeakMemory:
    """Peak memory (MiB) between :meth:`start` and :meth:`stop`."""

    def __init__(self, device: torch.device):
        self.device = device
        self.peak_mib = 0.
        self._stop = threading.Event()

    def start(self) -> None:
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            return
        self._base = self._peak = _rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.001):
            self._peak = max(self._peak, _rss())

    def stop(self) -> float:
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            self.peak_mib = torch.cuda.max_memory_allocated(
                self.device) / 2**20
        else:
            self._stop.set()
            self._thread.join()
            self.peak_mib = (max(self._peak, _rss()) - self._base) / 2**20
        return self.peak_mib


def _rss() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


TIMERS = dict(wall=time.perf_counter, process=time.process_time)


def time_calls(fn: Callable[[], object],
               device: torch.device,
               warmup: int,
               reps: int,
               timer: str = 'wall') -> Tuple[float, float]:
    """Median seconds of ``reps`` calls of ``fn`` after ``warmup`` calls,
    and their peak memory in MiB (see the module doc). ``timer``: see
    :class:`Settings`."""
    if reps < 1:
        raise ValueError(f'reps must be >= 1, got {reps}')
    cuda = device.type == 'cuda'
    clock = TIMERS[timer]
    memory = _PeakMemory(device)
    if not cuda:
        memory.start()
    for _ in range(warmup):
        fn()
    if cuda:
        memory.start()
    times = []
    for _ in range(reps):
        if cuda:
            torch.cuda.synchronize(device)
        start = clock()
        fn()
        if cuda:
            torch.cuda.synchronize(device)
        times.append(clock() - start)
    return statistics.median(times), memory.stop()


def _metas(batch: int, size: int) -> List[dict]:
    shape = (size, size)
    return [
        dict(img_shape=shape, ori_shape=shape, pad_shape=shape,
             padding_size=[0, 0, 0, 0]) for _ in range(batch)
    ]


def inference_call(model: nn.Module, bands: int, size: int,
                   device: torch.device, test_cfg: dict) -> Callable:
    """A call of ``model.inference`` (logits at the input size) on a random
    ``(1, bands, size, size)`` input with the given ``test_cfg``."""
    inputs = torch.randn(1, bands, size, size, device=device)
    metas = _metas(1, size)
    test_cfg = ConfigDict(test_cfg)

    def call():
        model.test_cfg = test_cfg
        with torch.no_grad():
            return model.inference(inputs, metas)

    return call


def training_call(model: nn.Module,
                  bands: int,
                  batch: int,
                  size: int,
                  device: torch.device,
                  amp: bool,
                  compile: Optional[str] = None) -> Callable:
    """A training step (forward, loss, backward, SGD step) on random data;
    with ``amp``, under autocast (:func:`amp_dtype`) and, for float16, a
    gradient scaler; with ``compile``, forward and loss through
    ``torch.compile`` with that backend."""
    inputs = torch.randn(batch, bands, size, size, device=device)
    num_classes = model.decode_head.num_classes
    samples = []
    for meta in _metas(batch, size):
        sample = SegDataSample(metainfo=meta)
        sample.gt_sem_seg = PixelData(data=torch.randint(
            0, num_classes, (1, size, size), device=device))
        samples.append(sample)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    dtype = amp_dtype(device)
    scaler = torch.amp.GradScaler(
        device.type, enabled=amp and dtype == torch.float16)

    def loss_of(inputs, samples):
        return model.parse_losses(model(inputs, samples, mode='loss'))[0]

    if compile:
        loss_of = torch.compile(loss_of, backend=compile)

    def call():
        model.train()
        with torch.autocast(device.type, dtype=dtype, enabled=amp):
            loss = loss_of(inputs, samples)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)

    return call


def _fresh_compile_cache() -> None:
    """Each config compiles afresh: the training step's code is shared by
    every config, and past Dynamo's recompile limit (8) a function runs
    uncompiled with only a logged warning, which would time later configs
    eagerly; within one config, hitting the limit is an error."""
    import torch._dynamo
    torch._dynamo.reset()
    torch._dynamo.config.fail_on_recompile_limit_hit = True


def benchmark_config(path: str, settings: Settings,
                     device: Optional[torch.device] = None) -> Result:
    """Measure one config (see :class:`Settings`)."""
    device = device or resolve_device(settings.device)
    name = osp.splitext(osp.basename(path))[0]
    cfg = load_config(path, settings.cfg_options)
    bands = input_bands(cfg)
    model = build_segmentor(cfg)
    check_head_fits_backbone(model, bands, name)
    # FlopAnalyzer traces on CPU, before the model moves.
    complexity = measure_complexity(model, (bands, settings.size,
                                            settings.size), name)
    tile_flops = {
        size: measure_complexity(model, (bands, size, size)).flops / 1e9
        for size in settings.tile_sizes
    } if settings.tile_flops else {}
    model.to(device)
    if settings.compile:
        _fresh_compile_cache()
    latency, _ = time_calls(
        inference_call(model, bands, settings.size, device,
                       dict(mode='whole')), device, settings.warmup,
        settings.reps, settings.timer)
    result = Result(
        name=name,
        config=path,
        bands=bands,
        params_m=complexity.params / 1e6,
        flops_g=complexity.flops / 1e9,
        latency_ms=latency * 1e3)

    if settings.train_batch > 0:
        amp_modes = [False]
        if settings.amp or (settings.amp is None and device.type == 'cuda'):
            amp_modes.append(True)
        for amp in amp_modes:
            step_s, peak = time_calls(
                training_call(model, bands, settings.train_batch,
                              settings.train_size, device, amp,
                              settings.compile), device,
                settings.warmup, settings.reps, settings.timer)
            throughput = settings.train_batch / step_s
            if amp:
                result.train_img_s_amp = throughput
                result.train_amp_peak_mib = peak
            else:
                result.train_img_s_fp32 = throughput
                result.train_peak_mib = peak
        model.eval()

    slide = dict(
        mode='slide',
        crop_size=(settings.slide_crop, settings.slide_crop),
        stride=(settings.slide_stride, settings.slide_stride))
    for size in settings.tile_sizes:
        for mode in settings.tile_modes:
            test_cfg = slide if mode == 'slide' else dict(mode='whole')
            seconds, peak = time_calls(
                inference_call(model, bands, size, device, test_cfg),
                device, 1, settings.tile_reps, settings.timer)
            result.tiles.append(
                TileResult(size, mode, seconds, peak,
                           tile_flops.get(size) if mode == 'whole' else None))
    if device.type == 'cuda':
        # The next model's large tiles should not find this one's cache.
        del model
        torch.cuda.empty_cache()
    return result


def benchmark(paths: Sequence[str],
              settings: Settings,
              progress: Optional[Callable[[Result], None]] = None
              ) -> List[Result]:
    """Measure every config in ``paths`` on ``settings.device``; ``progress``
    is called with each result as it is measured.

    Raises:
        FileNotFoundError: For a config path that does not exist (checked
            for all before measuring).
        ValueError: For a device that does not exist, bad settings, or a
            head that does not fit its backbone.
    """
    device = resolve_device(settings.device)
    for path in paths:
        if not osp.isfile(path):
            raise FileNotFoundError(f'config file not found: {path}')
    if settings.timer not in TIMERS or (settings.timer == 'process'
                                        and device.type != 'cpu'):
        raise ValueError('timer must be "wall", or "process" on CPU, got '
                         f'{settings.timer!r} on {device}')
    unknown = set(settings.tile_modes) - set(MODES)
    if unknown:
        raise ValueError(f'tile modes must be in {MODES}, got '
                         f'{sorted(unknown)}')
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True
    results = []
    for path in paths:
        results.append(benchmark_config(path, settings, device))
        if progress is not None:
            progress(results[-1])
    return results


def environment(settings: Settings) -> Dict[str, str]:
    """Date, machine and versions, for the record."""
    device = resolve_device(settings.device)
    name = torch.cuda.get_device_name(device) if device.type == 'cuda' \
        else _cpu_name()
    return dict(
        date=datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        device=f'{device} ({name})',
        torch=torch.__version__,
        threads=str(torch.get_num_threads()),
        timer=settings.timer,
        python=platform.python_version())


def _cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'CPU'


def _cell(value: Optional[float], fmt: str) -> str:
    return '—' if value is None else format(value, fmt)


def markdown_table(results: Sequence[Result], settings: Settings) -> str:
    """The results as a markdown table; '—' where nothing was measured."""
    s = settings.size
    batch = f' b{settings.train_batch}' if settings.train_batch else ''
    compiled = f' compiled ({settings.compile})' if settings.compile else ''
    header = [
        'config', 'bands', 'params (M)', f'FLOPs (G) {s}x{s}',
        f'latency {s}x{s} (ms)',
        f'train{batch}{compiled} fp32 (img/s)',
        f'train{batch}{compiled} AMP (img/s)',
        'train peak mem fp32 / AMP (MiB)'
    ]
    tile_keys = [(size, mode) for size in settings.tile_sizes
                 for mode in settings.tile_modes]
    header += [f'{mode} {size}x{size} s / MiB' for size, mode in tile_keys]
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '---|' * len(header)]
    for r in results:
        tiles = {(t.size, t.mode): t for t in r.tiles}
        row = [
            r.name,
            str(r.bands), f'{r.params_m:.2f}', f'{r.flops_g:.2f}',
            f'{r.latency_ms:.1f}',
            _cell(r.train_img_s_fp32, '.2f'),
            _cell(r.train_img_s_amp, '.2f'),
            _cell(r.train_peak_mib, '.0f') +
            ('' if r.train_amp_peak_mib is None else
             f' / {r.train_amp_peak_mib:.0f}')
        ]
        for key in tile_keys:
            tile = tiles.get(key)
            row.append('—' if tile is None else
                       f'{tile.seconds:.3f} / {tile.peak_mib:.0f}')
        lines.append('| ' + ' | '.join(row) + ' |')
    return '\n'.join(lines)


def ratio_table(results: Sequence[Result], baseline: str) -> str:
    """Each model over ``baseline`` (a result name): params, FLOPs,
    latency, training throughput (fp32, AMP); '—' where not measured."""
    base = {r.name: r for r in results}.get(baseline)
    if base is None:
        raise ValueError(f'baseline {baseline!r} is not among the results: '
                         f'{[r.name for r in results]}')

    def ratio(a, b):
        return '—' if a is None or b is None or not b else f'{a / b:.3f}'

    lines = [
        f'| config / {base.name} | params | FLOPs | latency | '
        'train fp32 | train AMP |', '|---|---|---|---|---|---|'
    ]
    for r in results:
        lines.append(
            f'| {r.name} | {ratio(r.params_m, base.params_m)} | '
            f'{ratio(r.flops_g, base.flops_g)} | '
            f'{ratio(r.latency_ms, base.latency_ms)} | '
            f'{ratio(r.train_img_s_fp32, base.train_img_s_fp32)} | '
            f'{ratio(r.train_img_s_amp, base.train_img_s_amp)} |')
    return '\n'.join(lines)


def to_json(results: Sequence[Result], settings: Settings) -> dict:
    """Settings, environment and results as one JSON-able dict."""
    return dict(
        environment=environment(settings),
        settings=asdict(settings),
        results=[asdict(r) for r in results])


def profile_step(path: str,
                 device: str = 'cpu',
                 amp: bool = True,
                 batch: int = 8,
                 size: int = 512,
                 steps: int = 3,
                 row_limit: int = 30,
                 inference: bool = False,
                 cfg_options: Optional[dict] = None) -> str:
    """Profile steps of one config with :mod:`torch.profiler`: training
    steps by default, to see where autocast costs time: the operators by
    self time, how many operators and dtype conversions
    (``aten::_to_copy``) a step makes, and on CUDA how long the GPU is busy
    per step. A GPU busy for much less than
    the step's wall time waits for the CPU to launch operators (a step
    bound by operator count, not by arithmetic).

    AMP is float16 autocast on CUDA and bfloat16 autocast on CPU
    (:func:`amp_dtype`). With ``inference``, the step is instead the
    latency call (one ``size`` x ``size`` image, whole mode, no autocast).

    Returns:
        str: The operator table and a summary line.
    """
    dev = resolve_device(device)
    cfg = load_config(path, cfg_options)
    bands = input_bands(cfg)
    model = build_segmentor(cfg).to(dev)
    if dev.type == 'cuda':
        torch.backends.cudnn.benchmark = True
    if inference:
        model.eval()
        step = inference_call(model, bands, size, dev, dict(mode='whole'))
        what = f'inference, 1 x {size}x{size}'
    else:
        step = training_call(model, bands, batch, size, dev, amp)
        what = (f'{"AMP" if amp else "fp32"} training, batch {batch} x '
                f'{size}x{size}')
    for _ in range(2):
        step()
    activities = [torch.profiler.ProfilerActivity.CPU]
    if dev.type == 'cuda':
        activities.append(torch.profiler.ProfilerActivity.CUDA)
        torch.cuda.synchronize(dev)
    start = time.perf_counter()
    with torch.profiler.profile(activities=activities) as prof:
        for _ in range(steps):
            step()
        if dev.type == 'cuda':
            torch.cuda.synchronize(dev)
    wall_ms = (time.perf_counter() - start) * 1e3 / steps
    events = prof.key_averages()
    sort_by = 'self_cuda_time_total' if dev.type == 'cuda' \
        else 'self_cpu_time_total'
    casts = sum(e.count for e in events if e.key == 'aten::_to_copy')
    calls = sum(e.count for e in events if e.key.startswith('aten::'))
    name = osp.splitext(osp.basename(path))[0]
    summary = (f'{name}: {what} on {dev}: {calls / steps:.0f} aten calls '
               f'and {casts / steps:.0f} dtype conversions (aten::_to_copy) '
               f'per step; {wall_ms:.1f} ms per step under the profiler')
    if dev.type == 'cuda':
        kernels = [
            e for e in prof.events()
            if e.device_type == torch.autograd.DeviceType.CUDA
        ]
        busy_ms = sum(
            getattr(e, 'self_device_time_total', None)
            or e.self_cuda_time_total for e in kernels) / 1e3 / steps
        summary += (f', {len(kernels) / steps:.0f} GPU kernels busy '
                    f'{busy_ms:.1f} ms per step')
    return events.table(sort_by=sort_by, row_limit=row_limit) + '\n' + \
        summary
