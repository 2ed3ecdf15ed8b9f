"""The inference engine: batched windows, blended in a band of rows.

It knows nothing of files or data sets: a ``read`` function gives the
normalised pixels of a window, a ``predict`` function turns a batch of
windows into class probabilities, and a ``write`` function receives rows as
soon as they are final. :func:`mmseg_lanet.apis.predict_raster` plugs in
raster files; :class:`mmseg_lanet.models.BlendEncoderDecoder` plugs in
MMSeg's test loop.
"""
import contextlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import (Callable, Dict, Iterable, Iterator, List, Optional,
                    Sequence, Tuple)

import numpy as np
import torch
from torch import Tensor

from .row_band import RowBandAccumulator
from .window_plan import Window, blend_weight, plan_windows

# read(window) -> (image (C, h, w) float32, valid (h, w) bool or None)
ReadFn = Callable[[Window], Tuple[Tensor, Optional[Tensor]]]
# predict(images (N, C, h, w)) -> probabilities (N, K, h, w)
PredictFn = Callable[[Tensor], Tensor]
# write(first row, probabilities (K, n, W), valid (n, W))
WriteFn = Callable[[int, Tensor, Tensor], None]
# The settings of :func:`blended_inference` that :func:`check_blend_settings`
# checks, by their argument names.
BLEND_SETTINGS = ('window', 'stride', 'batch_size', 'floor')


def amp_dtype(device) -> torch.dtype:
    """The autocast type of AMP on ``device`` (a device or its type):
    float16 on CUDA (MMSeg's ``--amp``), bfloat16 on CPU (the type CPU
    autocast supports)."""
    return torch.float16 if torch.device(device).type == 'cuda' \
        else torch.bfloat16


def softmax_predictor(logits_fn: Callable[[Tensor], Tensor],
                      flip: bool = False,
                      amp: bool = False) -> PredictFn:
    """Class probabilities from a logits function, with optional flip
    test-time augmentation (the window as is and flipped horizontally and
    vertically, each flip undone, probabilities averaged) and autocast.

    Args:
        logits_fn (callable): (N, C, h, w) -> (N, K, h, w) logits.
        flip (bool): Average over the flips. Defaults to False.
        amp (bool): Run under ``torch.autocast`` (:func:`amp_dtype`).
            False leaves autocast as the caller set it (e.g. mmengine's
            ``TestLoop(fp16=True)``). Defaults to False.

    Returns:
        callable: (N, C, h, w) -> (N, K, h, w) float32 probabilities.
    """
    dims = [(), (3, ), (2, )] if flip else [()]

    @torch.no_grad()
    def predict(images: Tensor) -> Tensor:
        device_type = images.device.type
        probs = None
        autocast = torch.autocast(device_type, dtype=amp_dtype(
            device_type)) if amp else contextlib.nullcontext()
        with autocast:
            for dim in dims:
                flipped = images.flip(dim) if dim else images
                logits = logits_fn(flipped).float()
                logits = logits.flip(dim) if dim else logits
                if probs is None:
                    probs = logits.softmax(dim=1)
                else:
                    probs += logits.softmax(dim=1)
        return probs if len(dims) == 1 else probs.div_(len(dims))

    return predict


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
                      device='cpu',
                      progress: Optional[Callable[[int], None]] = None,
                      band_dtype: torch.dtype = torch.float16,
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
        read (callable): See :data:`ReadFn`.
        predict (callable): See :data:`PredictFn`.
        write (callable): See :data:`WriteFn`; rows arrive in order, each
            exactly once.
        size (tuple[int, int]): Raster (H, W).
        num_classes (int): K.
        window (Sequence[int]): Window (h, w).
        stride (Sequence[int]): Step (rows, cols) between windows.
        batch_size (int): Windows per forward pass. Defaults to 1.
        floor (float): Smallest blend weight. Defaults to 0.1.
        device (str | torch.device): Where windows are predicted and
            blended. Defaults to 'cpu'.
        progress (callable, optional): Called with the number of windows
            done after each batch (e.g. ``tqdm.update``).
        band_dtype (torch.dtype): Storage of the blended sums (see
            :class:`RowBandAccumulator`). Defaults to float16.
        prefetch (int): Batches read and stacked ahead in a background
            thread while the model runs (see :func:`in_background`); 0
            reads in this thread, the choice for windows that are views of
            a tensor already in memory. Defaults to 0.

    Returns:
        dict: ``windows`` (planned), ``predicted`` and ``skipped`` (all
        invalid) counts, and ``band_shape``, the accumulator's (K, rows, W).
    """
    check_blend_settings(window, stride, batch_size, floor)
    height, width = size
    rows_of_windows = plan_windows(height, width, tuple(window),
                                   tuple(stride))
    band = RowBandAccumulator(num_classes, rows_of_windows[0][0][2], width,
                              device, band_dtype)
    weights: Dict[Tuple[bool, ...], Tensor] = {}
    counts = dict(windows=0, predicted=0, skipped=0)

    def weight_of(win: Window) -> Tensor:
        row, col, h, w = win
        key = (row == 0, row + h == height, col == 0, col + w == width)
        if key not in weights:
            weights[key] = torch.from_numpy(blend_weight(
                win, size, floor)).to(device)
        return weights[key]

    def batches() -> Iterator[Tuple[List[Window], Optional[Tensor],
                                    Optional[Tensor]]]:
        """``(windows, images, masks)`` of up to ``batch_size`` windows,
        stacked (masks None when every pixel is valid), and ``([window],
        None, None)`` for a window whose pixels are all invalid."""
        batch: List[Tuple[Window, Tensor, Optional[Tensor]]] = []
        for win in (w for row in rows_of_windows for w in row):
            image, valid = read(win)
            if valid is not None and not bool(valid.any()):
                yield [win], None, None
                continue
            batch.append((win, image, valid))
            if len(batch) == batch_size:
                yield stack(batch)
                batch = []
        if batch:
            yield stack(batch)

    # Windows read from files are stacked in page-locked memory for a GPU:
    # its upload then runs asynchronously instead of blocking this thread.
    pin = torch.device(device).type == 'cuda'

    def stack(batch) -> Tuple[List[Window], Tensor, Optional[Tensor]]:
        images = [image for _, image, _ in batch]
        out = None
        if pin and images[0].device.type == 'cpu':
            out = torch.empty((len(images), *images[0].shape),
                              dtype=images[0].dtype, pin_memory=True)
        images = torch.stack(images, out=out)
        masks = None
        if any(valid is not None for _, _, valid in batch):
            masks = torch.stack([
                torch.ones(win[2:], dtype=torch.bool) if valid is None else
                valid for win, _, valid in batch
            ])
        return [win for win, _, _ in batch], images, masks

    def blend(windows: List[Window], images: Tensor,
              masks: Optional[Tensor]) -> None:
        probs = predict(images.to(device, non_blocking=True))
        batch_weights = torch.stack([weight_of(win) for win in windows])
        if masks is not None:
            batch_weights = batch_weights * masks.to(device)
        # One product per batch, written in the band's dtype, then one add
        # per window.
        weighted = torch.mul(probs, batch_weights[:, None], out=torch.empty(
            probs.shape, dtype=band.scores.dtype, device=probs.device))
        for win, window_scores in zip(windows, weighted):
            release(win[0])
            band.add_weighted(win, window_scores)

    def release(until: int) -> None:
        for first, prob, valid in band.release(until):
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
    return dict(counts, band_shape=tuple(band.scores.shape))


def argmax_labels(probs: Tensor, valid: Tensor, nodata: int) -> np.ndarray:
    """(K, n, W) probabilities and (n, W) mask -> (n, W) uint8 labels with
    ``nodata`` where not valid; ties go to the lower class, as with
    ``argmax``."""
    if probs.device.type == 'cpu':
        # On CPU a reduction over the outer, strided class axis runs at a
        # seventh of the speed of K - 1 passes over contiguous planes.
        best = probs[0].clone()
        labels = torch.zeros(probs.shape[1:], dtype=torch.uint8)
        for k in range(1, probs.shape[0]):
            labels.masked_fill_(probs[k] > best, k)
            torch.maximum(best, probs[k], out=best)
    else:
        labels = probs.argmax(dim=0).to(torch.uint8)
    labels[~valid] = nodata
    return labels.cpu().numpy()
