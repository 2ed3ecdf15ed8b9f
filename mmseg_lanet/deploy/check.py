"""The export checker: an exported graph on onnxruntime against the PyTorch
model it came from, on inputs of several sizes."""
import time
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .metadata import HEIGHT_STATS_NAME, INPUT_NAME

#: Sizes checked by default: a window, a size that is not a multiple of 32
#: and the largest this machine runs in reasonable time (a whole 6000 x
#: 6000 tile on a large one: ``--check-sizes 512 1000 6000``).
DEFAULT_CHECK_SIZES = ((512, 512), (1000, 1000), (2048, 2048))
#: Largest logit difference accepted, relative to the largest logit where
#: that exceeds 1: float32 on both sides, whose rounding (convolutions
#: summed in another order) grows with the logits' magnitude.
MAX_LOGIT_DIFF = 1e-4
#: Smallest fraction of pixels whose labels must agree.
MIN_AGREEMENT = 0.9999


def random_bands(spec, batch_size: int, size: Tuple[int, int],
                 seed: int = 0) -> np.ndarray:
    """Raw bands as the rasters would hold them, smooth like an image:
    noise on a grid 16 times coarser, bilinearly enlarged, plus fine noise.
    Optical bands in 0-255 (integers for 8-bit models), heights around
    their statistics.

    Returns:
        np.ndarray: (N, C, H, W) float32.
    """
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.randn(batch_size, len(spec.bands), size[0] // 16 + 2,
                         size[1] // 16 + 2, generator=generator)
    noise = F.interpolate(coarse, size=size, mode='bilinear',
                          align_corners=False)
    noise += 0.3 * torch.randn(noise.shape, generator=generator)
    out = noise.numpy()
    for index, band in enumerate(spec.bands):
        if index == spec.height_index and spec.dsm_mode == 'global':
            mean, std = spec.dsm_mean, spec.dsm_std
        elif index == spec.height_index and spec.dsm_mode == 'per_tile':
            mean, std = 260., 10.  # absolute heights, metres
        else:
            mean, std = spec.mean[index], spec.std[index]
        out[:, index] = mean + std * out[:, index]
        if index != spec.height_index and spec.eight_bit:
            out[:, index] = np.clip(np.round(out[:, index]), 0, 255)
    return out.astype(np.float32)


def tile_height_stats(spec, bands: np.ndarray) -> Optional[np.ndarray]:
    """``height_stats`` for a per-tile model: the heights' mean and std
    (floored) over ``bands``, else None."""
    if spec.dsm_mode != 'per_tile' or spec.height_index is None:
        return None
    heights = bands[:, spec.height_index].astype(np.float64)
    return np.array([heights.mean(),
                     max(heights.std(), spec.dsm_min_std)], np.float32)


def reference_logits(model: torch.nn.Module, spec, bands: np.ndarray,
                     height_stats: Optional[np.ndarray]) -> np.ndarray:
    """PyTorch's logits of raw ``bands``, normalised in the order of the
    PyTorch predictor (heights by ``NormalizeDSM``'s rule, then every band
    by the preprocessor's mean and std)."""
    x = bands.copy()
    index = spec.height_index
    if index is not None and spec.dsm_mode is not None:
        mean, std = (height_stats if spec.dsm_mode == 'per_tile' else
                     (spec.dsm_mean, spec.dsm_std))
        x[:, index] = (x[:, index] - mean) / std
    x -= np.asarray(spec.mean, np.float32)[:, None, None]
    x /= np.asarray(spec.std, np.float32)[:, None, None]
    shape = tuple(bands.shape[-2:])
    metas = [dict(img_shape=shape, ori_shape=shape, pad_shape=shape)
             ] * len(bands)
    with torch.no_grad():
        return model.encode_decode(torch.from_numpy(x), metas).numpy()


def compare_logits(reference: np.ndarray,
                   candidate: np.ndarray) -> Tuple[float, float, float]:
    """Max absolute difference, the largest reference logit (absolute) and
    the fraction of equal argmax labels of two (N, K, H, W) logit
    arrays."""
    scale = float(np.abs(reference).max())
    if reference.shape != candidate.shape:
        return float('inf'), scale, 0.
    diff = float(np.abs(reference - candidate).max())
    agreement = float(
        (reference.argmax(1) == candidate.argmax(1)).mean())
    return diff, scale, agreement


def check_export(session,
                 model: torch.nn.Module,
                 spec,
                 sizes: Sequence[Tuple[int, int]],
                 batch_size: int = 1,
                 max_diff: float = MAX_LOGIT_DIFF,
                 min_agreement: float = MIN_AGREEMENT,
                 log: Callable = print,
                 name: str = 'model') -> List[dict]:
    """Run an exported graph and its PyTorch model on the same raw bands.

    Args:
        session (onnxruntime.InferenceSession): The exported graph.
        model (nn.Module): The segmentor it was exported from (eval mode).
        spec (InputSpec): The model's bands and statistics.
        sizes (Sequence[tuple[int, int]]): Input (H, W) to check.
        batch_size (int): Images per input.
        max_diff (float): Largest logit difference accepted, times the
            largest absolute logit where that exceeds 1.
        min_agreement (float): Smallest fraction of equal labels accepted.
        log (callable): Where each size's figures are printed.
        name (str): The file, for messages.

    Returns:
        list[dict]: Per size: ``size``, ``batch_size``,
        ``max_logit_diff``, ``max_logit`` (absolute), ``label_agreement``,
        ``onnxruntime_seconds`` and ``pytorch_seconds``.

    Raises:
        ValueError: Naming ``name`` and the size, when onnxruntime fails to
            run the graph or its logits are beyond the limits.
    """
    figures = []
    for height, width in sizes:
        bands = random_bands(spec, batch_size, (height, width))
        stats = tile_height_stats(spec, bands)
        feed = {INPUT_NAME: bands}
        if stats is not None:
            feed[HEIGHT_STATS_NAME] = stats
        start = time.perf_counter()
        try:
            (logits, ) = session.run(None, feed)
        except Exception as err:  # onnxruntime's errors share no base class
            message = ' '.join(str(err).split())
            raise ValueError(f'{name}: onnxruntime cannot run the exported '
                             f'graph at {height} x {width}: {message}') \
                from None
        ort_seconds = time.perf_counter() - start
        start = time.perf_counter()
        reference = reference_logits(model, spec, bands, stats)
        torch_seconds = time.perf_counter() - start
        diff, scale, agreement = compare_logits(reference, logits)
        limit = max_diff * max(1., scale)
        figures.append(
            dict(size=[height, width], batch_size=batch_size,
                 max_logit_diff=diff, max_logit=scale,
                 label_agreement=agreement,
                 onnxruntime_seconds=round(ort_seconds, 2),
                 pytorch_seconds=round(torch_seconds, 2)))
        log(f'check {height} x {width} (batch {batch_size}): max logit '
            f'difference {diff:.2e} (largest logit {scale:.3g}), labels '
            f'equal on {100 * agreement:.4f} % (onnxruntime '
            f'{ort_seconds:.1f} s, PyTorch {torch_seconds:.1f} s)')
        if not (diff <= limit and agreement >= min_agreement):
            raise ValueError(
                f'{name}: onnxruntime differs from PyTorch at {height} x '
                f'{width}: max logit difference {diff:.3g} (limit '
                f'{limit:.3g}), labels equal on {100 * agreement:.4f} % '
                f'(limit {100 * min_agreement:g} %); not written')
    return figures
