"""Test a checkpoint (MMSeg's tools/test.py flags; see mmseg_lanet.engine.cli)."""
import mmseg_lanet  # noqa: F401  (registers the plugin before the config)
from mmseg_lanet.engine.cli import test

if __name__ == '__main__':
    test()
