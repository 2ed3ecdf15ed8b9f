"""The shipped LANet configs, for the tests that run each of them."""
import glob
import os.path as osp

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'lanet')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))


def name_of(path: str) -> str:
    """The config's name, without folder and extension."""
    return osp.basename(path)[:-3]
