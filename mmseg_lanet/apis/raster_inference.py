"""Land-cover maps of raster files of any size: :func:`predict_raster` for
one raster, :class:`RasterInferencer` for a model and many rasters.

Who runs the model does not matter here: a *map model* gives
``input_spec()`` (:class:`InputSpec`), ``num_classes``, ``class_names()``,
``palette`` (None: ISPRS's), ``device`` (None: numpy arrays on the host),
``predictor(options, source)`` (a batch of windows of the
:class:`RasterInput` ``source`` -> probabilities, as :class:`PredictOptions`
say) and ``running(whole)`` (a context to predict
in). A PyTorch segmentor is one through
:class:`~mmseg_lanet.inference.torch_predict.TorchSegmentor`, an exported
ONNX model through :class:`~mmseg_lanet.inference.onnx_predict.OnnxSegmentor`.
"""
import contextlib
import logging
import math
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..datasets.georaster import RasterWriter, gdal_env, write_colour_png
from ..datasets.isprs_classes import IGNORE_INDEX, ISPRS_PALETTE
from ..datasets.malloc_tuning import heap_trimmer, map_large_allocations
from ..datasets.raster_io import TIFF_SUFFIXES
from ..inference import (argmax_labels, array_ops, blended_inference,
                         check_blend_settings, check_softmax_head,
                         plan_windows)
from .raster_input import InputSpec, RasterInput

try:
    from tqdm import tqdm
except ImportError:  # not in the deploy extra: no progress bars

    class tqdm:  # noqa: N801  (tqdm's interface, showing nothing)

        def __init__(self, iterable=(), **kwargs) -> None:
            self.iterable = iterable

        def __iter__(self):
            return iter(self.iterable)

        def __enter__(self) -> 'tqdm':
            return self

        def __exit__(self, *exc) -> None:
            pass

        def update(self, n: int = 1) -> None:
            pass


# The lines of a run over rasters (one per raster, a summary): the tool
# prints them; a library user sees the failures (Python's last resort
# handler) unless a handler is set.
logger = logging.getLogger(__name__)
# Peak memory of whole-raster inference per pixel, measured for LANet R50
# on CPU (6000 x 6000 x 5: 8.7 GiB); `mode='auto'` predicts a raster whole
# when pixels x this fits the budget.
WHOLE_BYTES_PER_PIXEL = 260
# Longest side of the colour quicklook PNG.
QUICKLOOK_SIZE = 1024
RASTER_INPUT_SUFFIXES = TIFF_SUFFIXES + ('.vrt', '.img', '.jp2')


def default_stride(window: Sequence[int]) -> Tuple[int, int]:
    """The step between windows when none is given: 2/3 of the window,
    rounded down (341 for 512, MMSeg's ISPRS sliding-window stride).

    Args:
        window (Sequence[int]): Window (h, w).

    Returns:
        tuple[int, int]: Stride (h, w), each at least 1.
    """
    return tuple(max(1, 2 * side // 3) for side in window)


@dataclass
class PredictOptions:
    """How to predict a raster.

    Attributes:
        window (tuple[int, int]): Window (h, w) of bounded mode.
        stride (tuple[int, int], optional): Step between windows (overlap =
            window - stride). Defaults to :func:`default_stride` of the
            window.
        batch_size (int): Windows per forward pass.
        mode (str): 'bounded' (windows blended in a band of rows), 'whole'
            (the raster in one pass, the paper's setting) or 'auto' (whole
            when it fits ``max_memory``).
        max_memory (float): Budget in GiB for ``mode='auto'``.
        floor (float): Smallest blend weight.
        tta (bool): Flip test-time augmentation.
        amp (bool): Mixed precision.
        probabilities (bool): Also write uint8 class probabilities
            (round(255 p), one band per class).
        quicklook (bool): Also write a colour PNG (``palette``, longest
            side at most ``QUICKLOOK_SIZE``).
        channels_last (bool): Run the model in the channels-last memory
            format (faster convolutions on tensor-core GPUs).
        fold_norms (bool): Fold batch norms into their convolutions
            (:func:`~.segmentor_loading.fold_batch_norms`).
        nodata (float, optional): Input nodata value (0: all-zero pixels);
            None takes the file's.
        file_bands (Sequence[str], optional): Names of the image's bands in
            file order ('alpha': transparency); None: the file's band
            descriptions, else the model's optical bands.
    """
    window: Tuple[int, int] = (512, 512)
    stride: Optional[Tuple[int, int]] = None
    batch_size: int = 4
    mode: str = 'auto'
    max_memory: float = 4.
    floor: float = 0.1
    tta: bool = False
    amp: bool = False
    probabilities: bool = False
    quicklook: bool = True
    channels_last: bool = False
    fold_norms: bool = False
    nodata: Optional[float] = None
    file_bands: Optional[Sequence[str]] = None
    palette: Optional[Sequence[Sequence[int]]] = None

    def __post_init__(self):
        # Checked before a model is loaded or an output folder made.
        if self.stride is None:
            self.stride = default_stride(self.window)
        if self.mode not in ('auto', 'whole', 'bounded'):
            raise ValueError("mode must be 'auto', 'whole' or 'bounded', got "
                             f'{self.mode!r}')
        if not self.max_memory > 0:
            raise ValueError(
                f'max memory must be > 0 GiB, got {self.max_memory:g}')
        check_blend_settings(self.window, self.stride, self.batch_size,
                             self.floor,
                             ('the window', 'stride', 'batch size', 'floor'))

    def whole(self, size: Tuple[int, int]) -> bool:
        if self.mode != 'auto':
            return self.mode == 'whole'
        return size[0] * size[1] * WHOLE_BYTES_PER_PIXEL <= (
            self.max_memory * 2**30)


def output_paths(image: str, out_dir: str,
                 options: PredictOptions) -> Dict[str, str]:
    """Files written for ``image``: ``labels`` (``<name>.tif``) and, as
    asked, ``probabilities`` (``<name>_probs.tif``) and ``quicklook``
    (``<name>_colour.png``)."""
    name = osp.splitext(osp.basename(image))[0]
    paths = dict(labels=osp.join(out_dir, f'{name}.tif'))
    if options.probabilities:
        paths['probabilities'] = osp.join(out_dir, f'{name}_probs.tif')
    if options.quicklook:
        paths['quicklook'] = osp.join(out_dir, f'{name}_colour.png')
    return paths


def maps_exist(paths: Dict[str, str]) -> bool:
    """Whether every output of :func:`output_paths` is there: outputs get
    their names only when complete, so such a raster's map is finished."""
    return all(osp.isfile(p) for p in paths.values())


class _LabelSink:
    """Receives final rows: labels (and probabilities) to their writers, a
    strided copy to the quicklook.

    Args:
        writers (dict): ``labels`` (and ``probabilities``) writers.
        step (int, optional): Keep every ``step``-th row and column of the
            labels for the quicklook; None keeps nothing.
    """

    def __init__(self, writers: Dict[str, RasterWriter],
                 step: Optional[int]):
        self.writers, self.step = writers, step
        self.quicklook_rows: List[np.ndarray] = []
        self.trim_heap = heap_trimmer()

    def __call__(self, first: int, probs, valid) -> None:
        labels = argmax_labels(probs, valid, IGNORE_INDEX)
        self.writers['labels'].write(first, labels)
        if 'probabilities' in self.writers:
            ops = array_ops(probs)
            quantised = ops.astype(ops.round_(probs * 255), 'uint8')
            quantised[:, ~valid] = 0
            self.writers['probabilities'].write(first, ops.numpy(quantised),
                                                ops.numpy(valid))
        if self.step is not None:
            offset = (-first) % self.step
            # A copy: a strided view would keep every label row alive.
            self.quicklook_rows.append(
                labels[offset::self.step, ::self.step].copy())
        self.trim_heap()


def is_onnx_model(model) -> bool:
    """Whether ``model`` names an exported ONNX model (by its suffix)."""
    return isinstance(model, str) and model.lower().endswith('.onnx')


def as_map_model(model):
    """``model`` as a map model (see the module's doc): a PyTorch
    segmentor is wrapped in a
    :class:`~mmseg_lanet.inference.torch_predict.TorchSegmentor`."""
    if hasattr(model, 'predictor'):
        return model
    from ..inference.torch_predict import TorchSegmentor
    return TorchSegmentor(model)


def predict_raster(model,
                   image: str,
                   out_dir: str,
                   dsm: Optional[str] = None,
                   options: Optional[PredictOptions] = None,
                   spec: Optional[InputSpec] = None,
                   progress: bool = False) -> dict:
    """Predict one raster into a label GeoTIFF (and probabilities and a
    colour quicklook), written window by window.

    The label raster is uint8 class indices, tiled and compressed, with
    the input's CRS and transform, nodata 255 where the input is nodata,
    and the ISPRS colour table. Every output is written under a temporary
    name and renamed when complete, labels last; a raster whose outputs all
    exist is skipped.

    Args:
        model (torch.nn.Module | map model): An MMSeg segmentor in eval
            mode on its device (:func:`load_segmentor`), with ``cfg``, or a
            map model (see the module's doc), e.g. an ONNX model.
        image (str): The image raster.
        out_dir (str): Output folder.
        dsm (str, optional): Its height raster (see :class:`RasterInput`).
        options (PredictOptions, optional): Defaults to ``PredictOptions()``.
        spec (InputSpec, optional): Defaults to the model's.
        progress (bool): Show a progress bar over windows.

    Returns:
        dict: ``status`` ('done' or 'skipped'), ``paths``, ``mode``
        ('whole' or 'bounded') and the window counts.
    """
    options = options or PredictOptions()
    model = as_map_model(model)
    check_softmax_head(model.num_classes, 'tools/predict.py')
    spec = spec or model.input_spec()
    palette = options.palette or model.palette or ISPRS_PALETTE
    paths = output_paths(image, out_dir, options)
    if maps_exist(paths):
        return dict(status='skipped', paths=paths)
    num_classes = model.num_classes
    with gdal_env(), contextlib.closing(
            RasterInput(spec, image, options.file_bands, dsm,
                        options.nodata)) as source:
        size = source.shape
        whole = options.whole(size)
        window = size if whole else options.window
        stride = size if whole else options.stride
        geo = dict(crs=source.image.crs, transform=source.image.transform)
        with contextlib.ExitStack() as stack:
            writers = dict(labels=stack.enter_context(RasterWriter(
                paths['labels'], *size, nodata=IGNORE_INDEX,
                colormap={i: (*rgb, 255)
                          for i, rgb in enumerate(palette)},
                **geo)))
            if options.probabilities:
                writers['probabilities'] = stack.enter_context(RasterWriter(
                    paths['probabilities'], *size, count=num_classes,
                    descriptions=model.class_names(), masked=True, **geo))
            # Closed in reverse order: labels are renamed last.
            step = max(1, math.ceil(max(size) / QUICKLOOK_SIZE))
            sink = _LabelSink(writers, step if options.quicklook else None)

            total = sum(map(len, plan_windows(*size, window, stride)))
            bar = tqdm(total=total, desc=osp.basename(image), unit='window',
                       leave=False, disable=not progress)
            predict = model.predictor(options, source)
            with bar, model.running(whole):
                counts = blended_inference(
                    source.read, predict, sink, size, num_classes, window,
                    stride, options.batch_size, options.floor, model.device,
                    bar.update, prefetch=1)
            if options.quicklook:
                labels = np.concatenate(sink.quicklook_rows)
                colours = np.zeros((256, 3), np.uint8)
                colours[:len(palette)] = palette
                write_colour_png(paths['quicklook'], colours[labels])
    return dict(status='done', paths=paths,
                mode='whole' if whole else 'bounded', **counts)


def find_rasters(inputs: Sequence[str]) -> List[str]:
    """Raster files named by ``inputs``: files as given, folders expanded to
    their raster files (by suffix, sorted, not recursive).

    Raises:
        FileNotFoundError: An input does not exist.
        ValueError: A folder holds no raster file, or no input was given.
    """
    found = []
    for path in inputs:
        if osp.isdir(path):
            names = sorted(n for n in os.listdir(path)
                           if n.lower().endswith(RASTER_INPUT_SUFFIXES)
                           and not n.startswith('.'))
            if not names:
                raise ValueError(f'{path}: folder holds no raster file '
                                 f'({", ".join(RASTER_INPUT_SUFFIXES)})')
            found.extend(osp.join(path, n) for n in names)
        elif osp.isfile(path):
            found.append(path)
        else:
            raise FileNotFoundError(f'input not found: {path}')
    if not found:
        raise ValueError('no input raster given')
    return found


def match_height_rasters(images: Sequence[str],
                         dsm: Union[None, str, Sequence[str]]
                         ) -> List[Optional[str]]:
    """The height raster of each image: none, one file per image in order,
    or a folder holding files of the images' names."""
    if not dsm:
        return [None] * len(images)
    dsm = [dsm] if isinstance(dsm, str) else list(dsm)
    if len(dsm) == 1 and osp.isdir(dsm[0]):
        return [osp.join(dsm[0], osp.basename(p)) for p in images]
    if len(dsm) != len(images):
        raise ValueError(f'{len(dsm)} height raster(s) for {len(images)} '
                         'image(s); give one per image, in order, or a folder')
    return dsm


def check_no_overwrite(images: Sequence[str], heights: Sequence[str],
                       out_dir: str, options: PredictOptions) -> None:
    """Raise, naming the file, if an output would replace an input or two
    inputs would write the same output."""
    inputs = {osp.realpath(p) for p in list(images) + list(heights) if p}
    seen = {}
    for image in images:
        for path in output_paths(image, out_dir, options).values():
            real = osp.realpath(path)
            if real in inputs:
                raise ValueError(
                    f'{out_dir}: output folder would overwrite the input '
                    f'{path}; choose another --out-dir')
            if real in seen:
                raise ValueError(f'{image} and {seen[real]} would both be '
                                 f'written to {path}')
            seen[real] = image


class RasterInferencer:
    """Predict land cover on raster files with one model, in the shape of
    MMSeg's ``MMSegInferencer``: build once, call on inputs.

    Example::

        >>> inferencer = RasterInferencer(CONFIG, CHECKPOINT, device='cuda')
        >>> inferencer(['ortho.tif'], dsm=['ndsm.tif'], out_dir='maps')

    Building one sets glibc's mmap threshold for the process
    (:func:`map_large_allocations`), so that memory stays flat over
    thousands of windows.

    Args:
        model (str | Config | map model): The model's config, or an
            exported ``.onnx`` model (run by onnxruntime, without torch),
            or a map model (see the module's doc).
        weights (str, optional): The config's checkpoint.
        device (str): 'cpu', 'cuda', 'cuda:1'... Defaults to 'cpu'.
        options (PredictOptions, optional): Window, batch, mode, outputs.
    """

    def __init__(self, model, weights: Optional[str] = None,
                 device: str = 'cpu',
                 options: Optional[PredictOptions] = None) -> None:
        map_large_allocations()
        self.options = options or PredictOptions()
        if hasattr(model, 'predictor'):  # a map model, e.g. OnnxSegmentor
            self.model = model
            self.model.predictor(self.options)  # refuses what it cannot do
        elif is_onnx_model(model):
            from ..inference.onnx_predict import OnnxSegmentor
            if weights is not None or device != 'cpu':
                raise ValueError(f'{model}: an ONNX model holds its weights '
                                 'and runs on the CPU (no checkpoint, no '
                                 'device)')
            self.model = OnnxSegmentor(model)
            self.model.predictor(self.options)  # refuses PyTorch's options
        else:
            import torch
            from .segmentor_loading import load_segmentor
            self.model = load_segmentor(model, weights, device,
                                        self.options.fold_norms)
            if self.options.channels_last:
                self.model.to(memory_format=torch.channels_last)
        map_model = as_map_model(self.model)
        check_softmax_head(map_model.num_classes, 'tools/predict.py')
        self.spec = map_model.input_spec()

    def __call__(self, inputs: Union[str, Sequence[str]],
                 out_dir: str,
                 dsm: Union[None, str, Sequence[str]] = None,
                 progress: bool = True) -> List[dict]:
        """Predict every raster of ``inputs`` (files or folders) into
        ``out_dir`` (see :func:`predict_raster`); finished ones are skipped.

        A raster that cannot be predicted (a damaged file, heights off its
        grid...) is reported in one line and the others go on
        (:meth:`predict_one`); the last line logged sums up the run
        (:func:`summary_line`).

        Returns:
            list[dict]: One result per raster, with its ``image``; status
            'done', 'skipped' or 'failed' (then with its ``error``).
        """
        pairs = self.input_pairs(inputs, out_dir, dsm)
        results = [
            self.predict_one(image, out_dir, height, progress)
            for image, height in tqdm(pairs, unit='raster',
                                      disable=not progress or len(pairs) < 2)
        ]
        logger.info(summary_line(results))
        return results

    def input_pairs(self, inputs: Union[str, Sequence[str]], out_dir: str,
                    dsm: Union[None, str, Sequence[str]] = None
                    ) -> List[Tuple[str, Optional[str]]]:
        """The rasters of ``inputs`` (files or folders), each with its
        height raster or None, checked not to write over one another or
        over an input in ``out_dir``.

        Raises:
            ValueError, FileNotFoundError: Naming the input at fault.
        """
        images = find_rasters([inputs] if isinstance(inputs, str) else inputs)
        heights = match_height_rasters(images, dsm)
        check_no_overwrite(images, heights, out_dir, self.options)
        return list(zip(images, heights))

    def predict_one(self, image: str, out_dir: str,
                    dsm: Optional[str] = None,
                    progress: bool = False) -> dict:
        """Predict one raster (:func:`predict_raster`) and log its outcome
        in one line; an error of that raster is logged, not raised.

        Only ``KeyboardInterrupt`` and the like stop the caller's loop: an
        error of one input (bad bands, a damaged block, a height raster
        that does not fit, memory for a whole-raster pass) says nothing
        about the next one. Its outputs are left unfinished, under
        temporary names only.

        Returns:
            dict: The result of :func:`predict_raster` with ``image``, or
            ``dict(status='failed', image=..., error=...)``, ``error``
            being the logged line.
        """
        try:
            result = predict_raster(self.model, image, out_dir, dsm,
                                    self.options, self.spec, progress)
        except Exception as err:  # noqa: B902 (reported, then the next)
            error = failure_line(err, image)
            logger.error(error)
            return dict(status='failed', image=image, error=error)
        detail = ('already done' if result['status'] == 'skipped' else
                  f'{result["mode"]}, {result["predicted"]} window(s) '
                  f'predicted, {result["skipped"]} all nodata')
        logger.info(f'{image} -> {result["paths"]["labels"]} ({detail})')
        return dict(result, image=image)


def failure_line(err: BaseException, image: str) -> str:
    """One line naming the input for an error raised while predicting
    ``image``: the error's message, which names the file at fault (and the
    window of a damaged block), prefixed with ``image`` where it does not
    name it; with the error's type for anything but bad input (ValueError,
    OSError)."""
    text = str(err) if isinstance(err, (ValueError, OSError)) else (
        f'{type(err).__name__}: {err}')
    text = ' '.join(text.split())
    if image not in text:
        text = f'{image}: {text}'
    return f'failed: {text}'


def summary_line(results: Sequence[dict]) -> str:
    """The last line of a run over many rasters: how many maps were
    written, skipped (already done) and failed."""
    counts = {status: sum(r['status'] == status for r in results)
              for status in ('done', 'skipped', 'failed')}
    return (f'{len(results)} raster(s): {counts["done"]} map(s) written, '
            f'{counts["skipped"]} skipped (already done), {counts["failed"]}'
            ' failed')
