"""Export a trained segmentor to ONNX, checked against PyTorch (see
mmseg_lanet.deploy.cli.export and docs/user_guides/deploy.md)."""
import mmseg_lanet  # noqa: F401  (registers the plugin before the config)
from mmseg_lanet.deploy.cli import export

if __name__ == '__main__':
    export()
