"""Fixtures shared by every test folder."""
import pytest


@pytest.fixture(scope='session')
def sample_data_root(tmp_path_factory):
    """The synthetic Potsdam and Vaihingen samples, written and converted
    once per session: ``<root>/potsdam`` and ``<root>/vaihingen``."""
    from mmseg_lanet.datasets.synthetic import make_sample_data
    root = str(tmp_path_factory.mktemp('sample'))
    for dataset in ('potsdam', 'vaihingen'):
        make_sample_data(dataset, root, seed=0, progress=False)
    return root
