"""Fixtures of the tool tests."""
import os.path as osp

import pytest


@pytest.fixture(scope='session')
def sample_root(tmp_path_factory):
    """The synthetic Potsdam sample, written and converted once."""
    from mmseg_lanet.datasets.synthetic import make_sample_data
    out = tmp_path_factory.mktemp('sample')
    make_sample_data('potsdam', str(out), seed=0, progress=False)
    return osp.join(str(out), 'potsdam')
