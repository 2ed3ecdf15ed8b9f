"""Fixtures of the inference tests: a tiny LANet with its initial weights
and a synthetic scene as GeoTIFFs."""
import pytest
import torch

from _raster_helpers import synthetic_scene, tiny_config, write_geotiff


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def scene():
    return synthetic_scene(150, 130, seed=3)


@pytest.fixture(scope='session')
def rasters(tmp_path_factory, scene):
    folder = tmp_path_factory.mktemp('rasters')
    return dict(image=write_geotiff(folder / 'ortho.tif', scene['image']),
                dsm=write_geotiff(folder / 'dsm.tif', scene['dsm']))


@pytest.fixture(scope='session')
def tiny_checkpoint(tmp_path_factory):
    """A checkpoint of the tiny LANet with its initial weights."""
    from benchmarks.predict_benchmark import save_random_checkpoint
    folder = tmp_path_factory.mktemp('ckpt')
    return save_random_checkpoint('tiny', str(folder / 'tiny.pth'))


@pytest.fixture(scope='session')
def tiny_model(tiny_checkpoint):
    from mmseg_lanet.apis import load_segmentor
    return load_segmentor(tiny_config(), tiny_checkpoint)
