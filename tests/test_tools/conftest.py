"""Fixtures of the tool tests."""
import os.path as osp

import pytest


@pytest.fixture(scope='session')
def sample_root(sample_data_root):
    """The converted synthetic Potsdam sample."""
    return osp.join(sample_data_root, 'potsdam')
