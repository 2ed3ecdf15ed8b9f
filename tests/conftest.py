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


@pytest.fixture(scope='session')
def damage_tile():
    """``damage(path, tile)``: overwrite the compressed bytes of a TIFF's
    ``tile``-th block (row-major) with noise, as a failed download or a
    full disk leaves them; the header stays intact."""
    import numpy as np
    import tifffile

    def damage(path, tile):
        with tifffile.TiffFile(str(path)) as tif:
            offset = tif.pages[0].dataoffsets[tile]
            size = tif.pages[0].databytecounts[tile]
        noise = np.random.default_rng(tile).integers(0, 256, size, np.uint8)
        with open(str(path), 'r+b') as f:
            f.seek(offset)
            f.write(noise.tobytes())

    return damage


@pytest.fixture
def tiff_decodes(monkeypatch):
    """The paths of the TIFFs decoded whole (``raster_io.read_tiff``) from
    now on in this test, in order."""
    import mmseg_lanet.datasets.raster_io as raster_io
    decodes, decode = [], raster_io.read_tiff

    def counted(source, *args, **kwargs):
        decodes.append(source)
        return decode(source, *args, **kwargs)

    monkeypatch.setattr(raster_io, 'read_tiff', counted)
    return decodes
