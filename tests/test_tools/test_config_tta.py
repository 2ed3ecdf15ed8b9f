"""Every shipped config can be tested with --tta."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from _tool_helpers import REPO

CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', 'lanet', '*.py')) +
    glob.glob(osp.join(REPO, 'configs', 'sample', '*.py')))


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_tta_keeps_the_models_band_statistics(path):
    cfg = Config.fromfile(path)
    # mmengine's Runner gives a top-level data_preprocessor to SegTTAModel,
    # replacing the model's: there must be none.
    assert cfg.get('data_preprocessor') is None
    num_bands = len(cfg.bands)
    assert len(cfg.model.data_preprocessor.mean) == num_bands
    assert [t['type'] for t in cfg.tta_pipeline][:2] == [
        'LoadMultiBandImageFromFile', 'NormalizeDSM']
