"""Predict label GeoTIFFs for rasters of any size (see
mmseg_lanet.apis.predict_cli): CONFIG CHECKPOINT with PyTorch, or an
exported MODEL.onnx with onnxruntime (no torch needed)."""
import mmseg_lanet  # noqa: F401  (registers the plugin before the config)
from mmseg_lanet.apis.predict_cli import predict

if __name__ == '__main__':
    predict()
