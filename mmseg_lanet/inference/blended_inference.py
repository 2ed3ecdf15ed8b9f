"""The inference engine: batched windows, blended in a band of rows.

It knows nothing of files, data sets or who runs the model: a ``read``
function gives the normalised pixels of a window, a ``predict`` function
turns a batch of windows into class probabilities, and a ``write`` function
receives rows as soon as they are final. Arrays are numpy arrays (e.g. for
onnxruntime, no torch needed) or torch tensors on any device, whichever
``read`` gives (see :mod:`.array_ops`). :func:`mmseg_lanet.apis.predict_raster`
plugs in raster files; :class:`mmseg_lanet.models.BlendEncoderDecoder`
plugs in MMSeg's test loop.
"""
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Optional,
                    Sequence, Tuple)

import numpy as np

from .array_ops import ArrayOps, array_ops
from .row_band import RowBandAccumulator, band_dtype_for
from .window_plan import Window, blend_weight, max_overlap, plan_windows

# An array: a numpy array or a torch tensor.
Array = Any
# read(window) -> (image (C, h, w) float32, valid (h, w) bool or None)
ReadFn = Callable[[Window], Tuple[Array, Optional[Array]]]
# predict(images (N, C, h, w)) -> probabilities (N, K, h, w)
PredictFn = Callable[[Array], Array]
# write(first row, probabilities (K, n, W), valid (n, W))
WriteFn = Callable[[int, Array, Array], None]
# The settings of :func:`blended_inference` that :func:`check_blend_settings`
# checks, by their argument names.
BLEND_SETTINGS = ('window', 'stride', 'batch_size', 'floor')


def check_blend_settings(window: Sequence[int], stride: Sequence[int],
                         batch_size: int, floor: float,
                         names: Sequence[str] = BLEND_SETTINGS) -> None:
    """Raise unless :func:`blended_inference` can run these settings:
    (rows, cols) ``window`` and ``stride`` with ``0 < stride <= window`` on
    each axis, ``batch_size`` at least 1, ``floor`` in (0, 1]. Callers check
    them before a model loads or an image is read, naming each setting as
    their users know it (``names``: window, stride, batch size, floor).

    Raises:
        ValueError: Naming the setting at fault.
    """
    window_name, stride_name, batch_name, floor_name = names
    window, stride = tuple(window), tuple(stride)
    if len(window) != 2 or len(stride) != 2 or not all(
            0 < s <= w for s, w in zip(stride, window)):
        raise ValueError(f'{stride_name} {stride} must be positive and at '
                         f'most {window_name} {window}')
    if batch_size < 1:
        raise ValueError(f'{batch_name} must be >= 1, got {batch_size}')
    if not 0 < floor <= 1:
        raise ValueError(f'{floor_name} must be in (0, 1], got {floor:g}')


def check_softmax_head(out_channels: int, user: str) -> None:
    """Raise unless a head of ``out_channels`` gives class probabilities by
    softmax, as blending windows needs: a one-channel (sigmoid) head would
    blend a softmax over one channel, 1 everywhere, and predict class 0 at
    every pixel.

    Args:
        out_channels (int): The decode head's ``out_channels``.
        user (str): What blends, as its user knows it (e.g.
            "model.test_cfg.mode 'blend'").

    Raises:
        ValueError: For ``out_channels`` below 2.
    """
    if out_channels < 2:
        raise ValueError(
            f'{user} blends softmax probabilities, which a one-channel '
            f'(sigmoid) head does not give: decode_head.out_channels is '
            f'{out_channels}; set out_channels to num_classes, or test with '
            "mode 'whole' or 'slide'")


def in_background(items: Iterable, depth: int) -> Iterator:
    """The items of ``items`` in order, produced up to ``depth`` ahead in
    one background thread (``depth=0``: in the calling thread).

    Reading and normalising windows from a file (I/O, numpy) and stacking
    them release the GIL for most of their time, so the next batch is made
    while the model runs on this one. One thread keeps the reader
    single-threaded and the items in order; ``depth`` bounds what is held.
    """
    if depth <= 0:
        yield from items
        return
    iterator, done = iter(items), object()
    with ThreadPoolExecutor(1, thread_name_prefix='read_ahead') as pool:
        # One worker: the next() calls run one after another, in order.
        pending = deque(pool.submit(next, iterator, done)
                        for _ in range(depth))
        try:
            while True:
                item = pending.popleft().result()
                if item is done:
                    return
                pending.append(pool.submit(next, iterator, done))
                yield item
        finally:
            for future in pending:
                future.cancel()


def blended_inference(read: ReadFn,
                      predict: PredictFn,
                      write: WriteFn,
                      size: Tuple[int, int],
                      num_classes: int,
                      window: Sequence[int],
                      stride: Sequence[int],
                      batch_size: int = 1,
                      floor: float = 0.1,
                      device=None,
                      progress: Optional[Callable[[int], None]] = None,
                      band_dtype=None,
                      prefetch: int = 0) -> Dict:
    """Predict a raster window by window with bounded memory.

    Windows (see :func:`plan_windows`) are read, stacked into batches of
    ``batch_size`` on ``device`` and predicted; each window's probabilities
    are added with its :func:`blend_weight` (times its valid mask) to a
    :class:`RowBandAccumulator`, and rows are written as soon as no later
    window covers them. Windows whose pixels are all invalid are skipped;
    pixels no valid window covers come out with ``valid`` False. With
    ``window`` at least the raster's size this is whole-raster inference
    (one window, weight 1).

    Args:
        read (callable): See :data:`ReadFn`: numpy arrays or torch tensors;
            ``predict`` and ``write`` get arrays of the same kind.
        predict (callable): See :data:`PredictFn`.
        write (callable): See :data:`WriteFn`; rows arrive in order, each
            exactly once.
        size (tuple[int, int]): Raster (H, W).
        num_classes (int): K.
        window (Sequence[int]): Window (h, w).
        stride (Sequence[int]): Step (rows, cols) between windows.
        batch_size (int): Windows per forward pass. Defaults to 1.
        floor (float): Smallest blend weight. Defaults to 0.1.
        device (str | torch.device, optional): Where windows are predicted
            and blended as torch tensors (read numpy arrays are uploaded
            there). Defaults to the kind of arrays ``read`` gives: torch
            tensors on their device, or numpy arrays on the host.
        progress (callable, optional): Called with the number of windows
            done after each batch (e.g. ``tqdm.update``).
        band_dtype (str | np.dtype | torch.dtype, optional): Storage of the
            blended sums (see :class:`RowBandAccumulator`). Defaults to
            :func:`band_dtype_for` the plan's overlap: float16 for up to 16
            windows over a pixel, else float32.
        prefetch (int): Batches read and stacked ahead in a background
            thread while the model runs (see :func:`in_background`); 0
            reads in this thread, the choice for windows that are views of
            an array already in memory. Defaults to 0.

    Returns:
        dict: ``windows`` (planned), ``predicted`` and ``skipped`` (all
        invalid) counts, and ``band_shape``, the accumulator's (K, rows, W).
    """
    check_blend_settings(window, stride, batch_size, floor)
    height, width = size
    rows_of_windows = plan_windows(height, width, tuple(window),
                                   tuple(stride))
    first_row = rows_of_windows[0]
    if band_dtype is None:
        band_dtype = band_dtype_for(
            max_overlap([row[0][0] for row in rows_of_windows],
                        first_row[0][2]) *
            max_overlap([win[1] for win in first_row], first_row[0][3]))
    # numpy or torch (see `device`): known from the first window read.
    engine: Dict[str, Any] = {}

    def ops_of(image) -> ArrayOps:
        if 'ops' not in engine:
            engine['ops'] = array_ops(image, device)
            engine['band'] = RowBandAccumulator(
                num_classes, first_row[0][2], width, dtype=band_dtype,
                ops=engine['ops'])
        return engine['ops']

    weights: Dict[Tuple[bool, ...], Array] = {}
    counts = dict(windows=0, predicted=0, skipped=0)

    def weight_of(win: Window):
        row, col, h, w = win
        key = (row == 0, row + h == height, col == 0, col + w == width)
        if key not in weights:
            weights[key] = engine['ops'].from_numpy(blend_weight(
                win, size, floor))
        return weights[key]

    def batches() -> Iterator[Tuple[List[Window], Optional[Array],
                                    Optional[Array]]]:
        """``(windows, images, masks)`` of up to ``batch_size`` windows,
        stacked (masks None when every pixel is valid), and ``([window],
        None, None)`` for a window whose pixels are all invalid."""
        batch: List[Tuple[Window, Array, Optional[Array]]] = []
        for win in (w for row in rows_of_windows for w in row):
            image, valid = read(win)
            ops_of(image)
            if valid is not None and not bool(valid.any()):
                yield [win], None, None
                continue
            batch.append((win, image, valid))
            if len(batch) == batch_size:
                yield stack(batch)
                batch = []
        if batch:
            yield stack(batch)

    def stack(batch) -> Tuple[List[Window], Array, Optional[Array]]:
        ops = engine['ops']
        images = ops.stack([image for _, image, _ in batch])
        masks = None
        if any(valid is not None for _, _, valid in batch):
            masks = ops.stack([
                np.ones(win[2:], bool) if valid is None else valid
                for win, _, valid in batch
            ])
        return [win for win, _, _ in batch], images, masks

    def blend(windows: List[Window], images, masks) -> None:
        ops, band = engine['ops'], engine['band']
        probs = predict(ops.to_device(images))
        batch_weights = ops.stack([weight_of(win) for win in windows])
        if masks is not None:
            batch_weights = batch_weights * ops.to_device(masks)
        # One product per batch, written in the band's dtype, then one add
        # per window.
        weighted = ops.multiply(probs, batch_weights[:, None],
                                band.scores.dtype)
        for win, window_scores in zip(windows, weighted):
            release(win[0])
            band.add_weighted(win, window_scores)

    def release(until: int) -> None:
        for first, prob, valid in engine['band'].release(until):
            write(first, prob, valid)

    for windows, images, masks in in_background(batches(), prefetch):
        counts['windows'] += len(windows)
        if images is None:
            counts['skipped'] += 1
        else:
            counts['predicted'] += len(windows)
            blend(windows, images, masks)
        if progress is not None:
            progress(len(windows))
    release(height)
    return dict(counts, band_shape=tuple(engine['band'].scores.shape))


def argmax_labels(probs, valid, nodata: int) -> np.ndarray:
    """(K, n, W) probabilities and (n, W) mask (numpy arrays or torch
    tensors) -> (n, W) uint8 labels with ``nodata`` where not valid, as a
    numpy array; ties go to the lower class, as with ``argmax``."""
    ops = array_ops(probs)
    if ops.on_host:
        # On a CPU a reduction over the outer, strided class axis runs at a
        # seventh of the speed of K - 1 passes over contiguous planes.
        best = ops.astype(probs[0], probs.dtype)
        labels = ops.zeros(probs.shape[1:], 'uint8')
        for k in range(1, probs.shape[0]):
            ops.fill_where_(labels, probs[k] > best, k)
            ops.maximum_(best, probs[k])
    else:
        labels = ops.astype(ops.argmax0(probs), 'uint8')
    labels[~valid] = nodata
    return ops.numpy(labels)
