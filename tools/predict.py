"""Predict label GeoTIFFs for rasters of any size (see
mmseg_lanet.engine.cli.predict and mmseg_lanet.apis)."""
import mmseg_lanet  # noqa: F401  (registers the plugin before the config)
from mmseg_lanet.engine.cli import predict

if __name__ == '__main__':
    predict()
