"""Class probabilities of windows from a PyTorch segmentor, for the engine
(:func:`~.blended_inference.blended_inference`): the one function that runs
an MMSeg segmentor on a batch of windows, used by ``tools/predict.py`` and
by :class:`mmseg_lanet.models.BlendEncoderDecoder`."""
import contextlib
from typing import Callable

import torch
from torch import Tensor

from .array_ops import class_probabilities
from .blended_inference import PredictFn


def segmentor_logits(model: torch.nn.Module,
                     channels_last: bool = False
                     ) -> Callable[[Tensor], Tensor]:
    """(N, C, h, w) normalised windows -> (N, K, h, w) logits of an MMSeg
    segmentor at the windows' size, bypassing its data preprocessor (the
    input is normalised already) and its test mode.

    Args:
        model (torch.nn.Module): An MMSeg segmentor (``encode_decode``).
        channels_last (bool): Pass the windows in that memory format (for
            a model converted to it). Defaults to False.
    """

    def logits(windows: Tensor) -> Tensor:
        if channels_last:
            windows = windows.contiguous(memory_format=torch.channels_last)
        shape = tuple(windows.shape[2:])
        metas = [dict(img_shape=shape, ori_shape=shape, pad_shape=shape)
                 ] * windows.shape[0]
        return model.encode_decode(windows, metas)

    return logits


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
    test-time augmentation (:func:`~.array_ops.class_probabilities`) and
    autocast.

    Args:
        logits_fn (callable): (N, C, h, w) -> (N, K, h, w) logits.
        flip (bool): Average over the flips. Defaults to False.
        amp (bool): Run under ``torch.autocast`` (:func:`amp_dtype`).
            False leaves autocast as the caller set it (e.g. mmengine's
            ``TestLoop(fp16=True)``). Defaults to False.

    Returns:
        callable: (N, C, h, w) -> (N, K, h, w) float32 probabilities.
    """
    @torch.no_grad()
    def predict(images: Tensor) -> Tensor:
        device_type = images.device.type
        autocast = torch.autocast(device_type, dtype=amp_dtype(
            device_type)) if amp else contextlib.nullcontext()
        with autocast:
            return class_probabilities(logits_fn, images, flip)

    return predict


@contextlib.contextmanager
def cudnn_benchmark(enabled: bool):
    """Set ``torch.backends.cudnn.benchmark`` for a block, then restore."""
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


class TorchSegmentor:
    """An MMSeg segmentor as the map model of
    :func:`mmseg_lanet.apis.predict_raster` (see
    :mod:`mmseg_lanet.apis.raster_inference`):
    normalised windows in, on the model's device.

    Args:
        model (torch.nn.Module): The segmentor in eval mode on its device,
            with ``cfg`` (:func:`mmseg_lanet.apis.load_segmentor`).
    """
    palette = None

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        self.device = next(model.parameters()).device
        self.num_classes = model.decode_head.out_channels

    def input_spec(self):
        from .input_spec import InputSpec
        return InputSpec.from_config(self.model.cfg)

    def class_names(self):
        """The checkpoint's ``dataset_meta`` classes (else ISPRS's for a
        6-class model, else None)."""
        from ..datasets.isprs_classes import known_class_names
        meta = getattr(self.model, 'dataset_meta', None) or {}
        return known_class_names(meta.get('classes'), self.num_classes)

    def predictor(self, options, source=None) -> PredictFn:
        """:func:`softmax_predictor` with the options' ``tta``, ``amp`` and
        ``channels_last`` (the windows of ``source`` come normalised)."""
        return softmax_predictor(
            segmentor_logits(self.model, options.channels_last), options.tta,
            options.amp)

    def running(self, whole: bool):
        # Windows share one shape: cuDNN's algorithm search pays off
        # (MMSeg's test loop turns it on too); a whole raster is a new
        # shape each time.
        return cudnn_benchmark(self.device.type == 'cuda' and not whole)
