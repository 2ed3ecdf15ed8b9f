"""Fake official ISPRS archives and converted data sets, built from scratch
with the official member names spelled out here (not taken from the
converter's layout), so that the converter is checked against them."""
import io
import zipfile

import numpy as np
import pytest
import tifffile

import mmseg_lanet  # noqa: F401  (registers the plugin's components)
from mmengine.registry import init_default_scope

PALETTE = np.array([[255, 255, 255], [0, 0, 255], [0, 255, 255],
                    [0, 255, 0], [255, 255, 0], [255, 0, 0]], np.uint8)


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def tiff_bytes(array, **kwargs):
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, **kwargs)
    return buffer.getvalue()


def write_zip(path, members):
    with zipfile.ZipFile(path, 'w') as zf:
        for name, data in members.items():
            zf.writestr(name, data)


class FakeTile:
    """Random data of one tile: (H, W, 4) uint8 R, G, B, NIR, float32
    heights, class indices and eroded class indices (255 on boundaries)."""

    def __init__(self, seed, height=40, width=48):
        rng = np.random.default_rng(seed)
        self.rgbir = rng.integers(0, 256, (height, width, 4), np.uint8)
        self.dsm = rng.uniform(30, 60, (height, width)).astype(np.float32)
        self.labels = rng.integers(0, 6, (height, width)).astype(np.uint8)
        self.eroded = self.labels.copy()
        self.eroded[rng.random((height, width)) < 0.2] = 255
        self.edits = {}  # (y, x) -> colour painted in the full label TIFF

    def colours(self):
        colours = PALETTE[self.labels]
        for (y, x), colour in self.edits.items():
            colours[y, x] = colour
        return colours

    def eroded_colours(self):
        colours = PALETTE[np.minimum(self.eroded, 5)]
        colours[self.eroded == 255] = 0  # black boundary
        return colours


POTSDAM_TILES = {'2_10': 0, '6_7': 1, '2_13': 2, '1_1': 3}


def potsdam_archives(folder, tiles=None, rgbir=True, rgb_irrg=False,
                     dsm=True, ndsm=False, size=(40, 48), edits=None,
                     drop=()):
    """Write Potsdam archives in the official layout; return the tiles.

    The tile 1_1 is in neither official split. ``edits`` maps a tile to
    label colour edits, ``drop`` lists member names left out.
    """
    tiles = {t: FakeTile(seed, *size)
             for t, seed in (tiles or POTSDAM_TILES).items()}
    for tile, tile_edits in (edits or {}).items():
        tiles[tile].edits = tile_edits
    members = {name: {} for name in (
        '4_Ortho_RGBIR.zip', '2_Ortho_RGB.zip', '3_Ortho_IRRG.zip',
        '1_DSM.zip', '1_DSM_normalisation.zip', '5_Labels_all.zip',
        '5_Labels_all_noBoundary.zip')}
    for tile, data in tiles.items():
        row, col = (int(v) for v in tile.split('_'))
        pad = f'{row:02d}_{col:02d}'
        members['4_Ortho_RGBIR.zip'][
            f'4_Ortho_RGBIR/top_potsdam_{tile}_RGBIR.tif'] = tiff_bytes(
                data.rgbir, photometric='rgb', extrasamples=['unspecified'])
        members['4_Ortho_RGBIR.zip'][
            f'4_Ortho_RGBIR/top_potsdam_{tile}_RGBIR.tfw'] = b'0.05\n0\n'
        members['2_Ortho_RGB.zip'][
            f'2_Ortho_RGB/top_potsdam_{tile}_RGB.tif'] = tiff_bytes(
                data.rgbir[..., :3], photometric='rgb')
        members['3_Ortho_IRRG.zip'][
            f'3_Ortho_IRRG/top_potsdam_{tile}_IRRG.tif'] = tiff_bytes(
                data.rgbir[..., [3, 0, 1]], photometric='rgb')
        members['1_DSM.zip'][f'1_DSM/dsm_potsdam_{pad}.tif'] = tiff_bytes(
            data.dsm)
        members['1_DSM_normalisation.zip'][
            f'1_DSM_normalisation/dsm_potsdam_{pad}_normalized_lastools.jpg'
        ] = ndsm_jpeg(data)
        members['5_Labels_all.zip'][
            f'top_potsdam_{tile}_label.tif'] = tiff_bytes(data.colours())
        members['5_Labels_all_noBoundary.zip'][
            f'top_potsdam_{tile}_label_noBoundary.tif'] = tiff_bytes(
                data.eroded_colours())
    wanted = {'5_Labels_all.zip', '5_Labels_all_noBoundary.zip'}
    wanted |= {'4_Ortho_RGBIR.zip'} if rgbir else set()
    wanted |= {'2_Ortho_RGB.zip', '3_Ortho_IRRG.zip'} if rgb_irrg else set()
    wanted |= {'1_DSM.zip'} if dsm else set()
    wanted |= {'1_DSM_normalisation.zip'} if ndsm else set()
    for archive in wanted:
        write_zip(folder / archive, {
            name: data for name, data in members[archive].items()
            if name not in drop})
    return tiles


def ndsm_jpeg(tile):
    import cv2
    levels = np.clip(tile.dsm - 30, 0, 255).astype(np.uint8)
    return cv2.imencode('.jpg', levels)[1].tobytes()


@pytest.fixture
def fake_tile():
    return FakeTile


@pytest.fixture
def make_potsdam_archives():
    return potsdam_archives


@pytest.fixture
def make_zip():
    return write_zip


@pytest.fixture
def encode_tiff():
    return tiff_bytes
