"""Fixtures of the inference tests: a tiny LANet and GeoTIFFs with a real
CRS (UTM 33N) and transform."""
import os.path as osp

import numpy as np
import pytest
import torch

rasterio = pytest.importorskip('rasterio')
from rasterio.crs import CRS  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402

UTM33 = CRS.from_epsg(32633)
TRANSFORM = from_origin(368000.0, 5808000.0, 0.05, 0.05)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def write_geotiff(path, array, crs=UTM33, transform=TRANSFORM, nodata=None):
    """Write (C, H, W) as a GeoTIFF."""
    array = array[None] if array.ndim == 2 else array
    count, height, width = array.shape
    with rasterio.open(str(path), 'w', driver='GTiff', height=height,
                       width=width, count=count, dtype=array.dtype, crs=crs,
                       transform=transform, nodata=nodata) as ds:
        ds.write(array)
    return str(path)


@pytest.fixture(scope='session')
def scene():
    from mmseg_lanet.datasets.synthetic import generate_scene, terrain_dsm
    rng = np.random.default_rng(3)
    scene = generate_scene(150, 130, rng)
    return dict(image=scene.reflectance.transpose(2, 0, 1).copy(),
                dsm=terrain_dsm(scene, 35., rng), labels=scene.labels)


@pytest.fixture(scope='session')
def rasters(tmp_path_factory, scene):
    folder = tmp_path_factory.mktemp('rasters')
    return dict(image=write_geotiff(folder / 'ortho.tif', scene['image']),
                dsm=write_geotiff(folder / 'dsm.tif', scene['dsm']))


def tiny_config(num_classes=6):
    from mmseg_lanet.apis.predict_benchmark import _config
    cfg = _config('tiny')
    cfg.model.decode_head.num_classes = num_classes
    return cfg


@pytest.fixture(scope='session')
def tiny_checkpoint(tmp_path_factory):
    """A tiny LANet with its initial weights, BN statistics of a few
    forward passes so that its predictions vary over the image."""
    from mmengine.model import revert_sync_batchnorm
    from mmseg.registry import MODELS
    import mmseg_lanet  # noqa: F401
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(tiny_config().model))
    path = tmp_path_factory.mktemp('ckpt') / 'tiny.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), str(path))
    return str(path)


@pytest.fixture(scope='session')
def tiny_model(tiny_checkpoint):
    from mmseg_lanet.apis import load_segmentor
    return load_segmentor(tiny_config(), tiny_checkpoint)


def read_back(path):
    with rasterio.open(path) as ds:
        return ds.read(), ds.profile, ds.crs, ds.transform


__all__ = ['write_geotiff', 'read_back', 'UTM33', 'TRANSFORM', 'osp']
