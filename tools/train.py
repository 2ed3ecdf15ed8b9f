"""Train a segmentor (MMSeg's tools/train.py flags; see mmseg_lanet.engine.cli)."""
import mmseg_lanet  # noqa: F401  (registers the plugin before the config)
from mmseg_lanet.engine.cli import train

if __name__ == '__main__':
    train()
