"""The inference engine, free of torch and OpenMMLab: window plan, batched
windows blended in a band of rows (numpy arrays, or torch tensors on any
device), for ``tools/predict.py`` (PyTorch or onnxruntime) and the
``'blend'`` test mode of :class:`mmseg_lanet.models.BlendEncoderDecoder`.

Importing this package imports numpy only; :mod:`.torch_predict` (PyTorch
segmentors) imports torch.
"""
from .array_ops import ArrayOps, NumpyOps, array_ops
from .blended_inference import (argmax_labels, blended_inference,
                                check_blend_settings, check_softmax_head,
                                in_background)
from .row_band import RowBandAccumulator, band_dtype_for, float16_error_bound
from .window_plan import (blend_weight, max_overlap, plan_windows,
                          window_starts)

__all__ = [
    'ArrayOps', 'NumpyOps', 'array_ops', 'argmax_labels', 'blended_inference',
    'check_blend_settings', 'check_softmax_head', 'in_background',
    'RowBandAccumulator', 'band_dtype_for', 'float16_error_bound',
    'blend_weight', 'max_overlap', 'plan_windows', 'window_starts'
]
