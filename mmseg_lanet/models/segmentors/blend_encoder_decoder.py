"""EncoderDecoder with a batched, blended sliding-window test mode."""
from typing import List, Optional

import torch
from torch import Tensor

from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from ...inference import (blended_inference, check_blend_settings,
                          check_softmax_head)
from ...inference.torch_predict import segmentor_logits, softmax_predictor

TEST_MODES = ('whole', 'slide', 'blend')


def check_test_cfg(test_cfg: Optional[dict],
                   out_channels: int) -> Optional[tuple]:
    """Raise, naming the key, unless ``test_cfg`` is a mode this segmentor
    runs with the settings it needs: at the model's construction, before a
    test image is loaded, rather than at the first window.

    Args:
        test_cfg (dict, optional): The model's ``test_cfg``.
        out_channels (int): Its decode head's ``out_channels``.

    Returns:
        tuple | None: For 'blend', its (crop_size, stride, batch_size,
        floor) as :func:`blended_inference` takes them, defaults filled in;
        None for MMSeg's modes.

    Raises:
        ValueError: An unknown ``mode``; for 'blend', a one-channel head
            (:func:`check_softmax_head`), a missing ``crop_size`` or
            ``stride``, a stride beyond the crop, a ``batch_size`` below 1
            or a ``floor`` outside (0, 1].
    """
    cfg = test_cfg or {}
    mode = cfg.get('mode', 'whole')
    if mode not in TEST_MODES:
        raise ValueError(f'model.test_cfg.mode must be one of {TEST_MODES}, '
                         f'got {mode!r}')
    if mode != 'blend':
        return None
    check_softmax_head(out_channels, "model.test_cfg.mode 'blend'")
    missing = [k for k in ('crop_size', 'stride') if cfg.get(k) is None]
    if missing:
        raise ValueError(f"model.test_cfg.{missing[0]} is needed by mode "
                         "'blend' (e.g. crop_size=(512, 512), "
                         'stride=(341, 341))')
    settings = (cfg['crop_size'], cfg['stride'], cfg.get('batch_size', 1),
                cfg.get('floor', 0.1))
    check_blend_settings(
        *settings, [f'model.test_cfg.{key}'
                    for key in ('crop_size', 'stride', 'batch_size', 'floor')])
    return settings


@MODELS.register_module()
class BlendEncoderDecoder(EncoderDecoder):
    """MMSeg's :class:`EncoderDecoder` plus ``test_cfg.mode='blend'``.

    ``'whole'`` and ``'slide'`` behave exactly as in MMSeg. ``'blend'`` runs
    the engine of ``tools/predict.py``
    (:func:`mmseg_lanet.inference.blended_inference`) on each test image:
    windows of ``crop_size`` every ``stride`` pixels (the last flush with
    the edge), ``batch_size`` windows per forward pass, softmax
    probabilities blended with a Hann weight raised to ``floor`` (no taper
    on the image's outer edges) in a band of rows one window tall. MMSeg's
    ``'slide'`` instead runs windows one at a time, averages raw logits
    with equal weights and pads each window.

    ``test_cfg`` for ``'blend'``::

        dict(mode='blend', crop_size=(512, 512), stride=(341, 341),
             batch_size=8, floor=0.1)

    The output of :meth:`inference` is then the log of the blended
    probabilities, (N, K, H, W), so its argmax is the blended prediction.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        check_test_cfg(self.test_cfg, self.out_channels)

    def inference(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Segmentation scores of a batch (see class doc), (N, K, H, W)."""
        # test_cfg may have been set after construction.
        settings = check_test_cfg(self.test_cfg, self.out_channels)
        if settings is None:
            return super().inference(inputs, batch_img_metas)
        predict = softmax_predictor(segmentor_logits(self))
        scores = []
        for image in inputs:
            probs = image.new_zeros(self.out_channels, *image.shape[1:])

            def read(window, image=image):
                row, col, height, width = window
                return image[:, row:row + height, col:col + width], None

            def write(first, rows, valid, probs=probs):
                probs[:, first:first + rows.shape[1]] = rows

            blended_inference(read, predict, write, tuple(image.shape[1:]),
                              self.out_channels, *settings, inputs.device)
            scores.append(probs)
        return torch.stack(scores).clamp(min=1e-8).log()
