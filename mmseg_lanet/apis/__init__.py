"""Inference on rasters of any size: one engine (window plan, batched
windows, blending in a band of rows) behind :func:`predict_raster`,
:class:`RasterInferencer`, ``tools/predict.py`` and the ``'blend'`` test
mode of :class:`mmseg_lanet.models.BlendEncoderDecoder`."""
from .blended_inference import (argmax_labels, blended_inference,
                                softmax_predictor)
from .raster_inference import (PredictOptions, RasterInferencer,
                               find_rasters, predict_raster)
from .raster_input import InputSpec, RasterInput
from .row_band import RowBandAccumulator
from .segmentor_loading import fold_batch_norms, load_segmentor
from .window_plan import blend_weight, plan_windows, window_starts

__all__ = [
    'blended_inference', 'softmax_predictor', 'argmax_labels',
    'PredictOptions', 'RasterInferencer', 'find_rasters', 'predict_raster',
    'InputSpec', 'RasterInput', 'RowBandAccumulator', 'load_segmentor',
    'fold_batch_norms', 'blend_weight', 'plan_windows', 'window_starts'
]
