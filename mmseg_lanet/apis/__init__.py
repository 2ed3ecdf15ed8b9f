"""Land-cover maps of rasters of any size: :func:`predict_raster` and
:class:`RasterInferencer` (behind ``tools/predict.py``) run the engine of
:mod:`mmseg_lanet.inference` on raster files, with a PyTorch segmentor or
an exported ONNX model.

The raster path (input rules, GeoTIFF outputs, the per-file loop) needs no
torch; :func:`load_segmentor`, :func:`fold_batch_norms` and
:func:`softmax_predictor` are here when MMSegmentation is installed (see
:mod:`mmseg_lanet`).
"""
import importlib.util

from ..inference import (RowBandAccumulator, argmax_labels, blend_weight,
                         blended_inference, plan_windows, window_starts)
from .raster_inference import (PredictOptions, RasterInferencer,
                               find_rasters, predict_raster)
from .raster_input import InputSpec, RasterInput

__all__ = [
    'blended_inference', 'argmax_labels', 'PredictOptions',
    'RasterInferencer', 'find_rasters', 'predict_raster', 'InputSpec',
    'RasterInput', 'RowBandAccumulator', 'blend_weight', 'plan_windows',
    'window_starts'
]
if importlib.util.find_spec('mmseg') is not None:
    from ..inference.torch_predict import softmax_predictor
    from .segmentor_loading import fold_batch_norms, load_segmentor
    __all__ += ['softmax_predictor', 'load_segmentor', 'fold_batch_norms']
