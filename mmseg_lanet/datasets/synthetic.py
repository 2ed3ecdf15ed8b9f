"""Synthetic ISPRS-like sample data, written as the official archives.

The scenes are **synthetic**: a few small tiles of an invented town, so that
the whole data path (official archives -> converter -> multi-band data set ->
training -> ISPRS metrics) runs in minutes without a download. They are
built to be learnable from the same cues as the real data:

- impervious surfaces: flat grey roads (nDSM 0);
- buildings: rectangles with flat or gabled roofs, nDSM 6-18 m, roof colour
  varying per building, low NIR;
- low vegetation: the background, nDSM < 0.3 m, high NIR;
- trees: round crowns with a dome-shaped nDSM of 5-15 m, the highest NIR;
- cars: small rectangles on the roads, about 1.5 m high;
- clutter: small patches of other material, 0-2.5 m high.

The DSM is the nDSM on top of a gently sloping terrain (Potsdam about 35 m,
Vaihingen about 260 m above sea level). Labels use the ISPRS colours; the
eroded labels paint a disc of radius 3 px around every class boundary in
black, as ISPRS does. Two Potsdam tiles carry off-palette label colours,
like the real 4_12 and 6_7.

Files follow the official archive layouts of
:mod:`mmseg_lanet.datasets.converters.potsdam` and
:mod:`mmseg_lanet.datasets.converters.vaihingen`, with real tile ids from
both official splits. Everything is deterministic given the seed.
"""
import io
import json
import os
import os.path as osp
import zipfile
from dataclasses import dataclass
from typing import Dict, Tuple

import cv2
import numpy as np
import tifffile

from .converters import potsdam, vaihingen
from .converters.convert import MANIFEST, convert_dataset
from .converters.layout import MemberSpec
from .isprs_classes import BOUNDARY_COLOUR, BOUNDARY_RADIUS, ISPRS_PALETTE

IMPERVIOUS, BUILDING, LOW_VEGETATION, TREE, CAR, CLUTTER = range(6)

# Tiles of the sample: real ids from the official training and test lists,
# with their (height, width) in pixels.
SAMPLE_TILES = dict(
    potsdam=dict(
        train={t: (320, 320)
               for t in ('2_10', '3_11', '4_12', '6_7', '7_8')},
        val={t: (320, 320)
             for t in ('2_13', '4_14', '6_15')}),
    vaihingen=dict(
        train={'area1': (320, 288), 'area3': (288, 320), 'area5': (320, 320),
               'area7': (352, 288), 'area11': (288, 352)},
        val={'area2': (320, 288), 'area4': (288, 320), 'area6': (320, 320)}),
)
# Tiles whose full labels get off-palette colours (as reported for the
# real Potsdam 4_12 and 6_7).
OFF_PALETTE_TILES = ('4_12', '6_7')
TERRAIN_HEIGHT = dict(potsdam=35.0, vaihingen=260.0)
# Grey level of the synthetic 8-bit nDSM per metre (0.1 m steps).
NDSM_LEVELS_PER_METRE = 10.0

# Mean R, G, B, NIR (0-255) of each material.
SPECTRA = {
    IMPERVIOUS: (150, 148, 145, 115),
    LOW_VEGETATION: (105, 145, 80, 185),
    TREE: (55, 95, 55, 210),
    CLUTTER: (175, 125, 90, 135),
}
ROOF_SPECTRA = ((180, 85, 70, 95), (125, 125, 132, 105), (95, 80, 70, 80))
CAR_SPECTRA = ((200, 35, 35, 70), (35, 45, 190, 70), (225, 225, 225, 110),
               (45, 45, 45, 40))


@dataclass
class SyntheticScene:
    """One synthetic tile.

    Attributes:
        labels (np.ndarray): (H, W) uint8 class index.
        ndsm (np.ndarray): (H, W) float32 height above ground in metres.
        reflectance (np.ndarray): (H, W, 4) uint8 bands R, G, B, NIR.
    """
    labels: np.ndarray
    ndsm: np.ndarray
    reflectance: np.ndarray


def _smooth_noise(rng: np.random.Generator, height: int, width: int,
                  cell: int = 16) -> np.ndarray:
    """Low-frequency noise in about [-1, 1], (H, W) float32."""
    coarse = rng.standard_normal(
        (height // cell + 2, width // cell + 2)).astype(np.float32)
    return cv2.resize(coarse, (width, height),
                      interpolation=cv2.INTER_CUBIC) * 0.5


def _paint(scene: SyntheticScene, mask: np.ndarray, label: int,
           spectrum: Tuple[int, ...]) -> None:
    scene.labels[mask] = label
    scene.reflectance[mask] = spectrum


def _free(scene: SyntheticScene, y0: int, x0: int, y1: int, x1: int,
          allowed: Tuple[int, ...]) -> bool:
    """Whether a box lies inside the tile and only covers ``allowed``."""
    height, width = scene.labels.shape
    if y0 < 0 or x0 < 0 or y1 > height or x1 > width:
        return False
    return bool(np.isin(scene.labels[y0:y1, x0:x1], allowed).all())


def _add_roads(scene: SyntheticScene, rng: np.random.Generator) -> None:
    height, width = scene.labels.shape
    for axis, length in ((0, height), (1, width)):
        for _ in range(rng.integers(1, 3)):
            road = int(rng.integers(18, 30))
            start = int(rng.integers(0, length - road))
            mask = np.zeros_like(scene.labels, dtype=bool)
            if axis == 0:
                mask[start:start + road, :] = True
            else:
                mask[:, start:start + road] = True
            _paint(scene, mask, IMPERVIOUS, SPECTRA[IMPERVIOUS])


def _add_buildings(scene: SyntheticScene, rng: np.random.Generator) -> None:
    height, width = scene.labels.shape
    placed = 0
    for _ in range(60):
        if placed == 7:
            break
        h, w = (int(v) for v in rng.integers(28, 80, size=2))
        y0, x0 = int(rng.integers(0, height - h)), int(rng.integers(
            0, width - w))
        # Keep a margin to roads and other buildings.
        if not _free(scene, y0 - 4, x0 - 4, y0 + h + 4, x0 + w + 4,
                     (LOW_VEGETATION, )):
            continue
        mask = np.zeros_like(scene.labels, dtype=bool)
        mask[y0:y0 + h, x0:x0 + w] = True
        _paint(scene, mask, BUILDING,
               ROOF_SPECTRA[int(rng.integers(len(ROOF_SPECTRA)))])
        roof = np.full((h, w), rng.uniform(6.0, 18.0), np.float32)
        if rng.random() < 0.5:  # gabled roof, ridge along the long side
            across = np.abs(np.linspace(-1, 1, min(h, w), dtype=np.float32))
            ridge = rng.uniform(1.5, 3.5) * (1 - across)
            roof += ridge[:, None] if h <= w else ridge[None, :]
        scene.ndsm[y0:y0 + h, x0:x0 + w] = roof
        placed += 1


def _add_trees(scene: SyntheticScene, rng: np.random.Generator) -> None:
    height, width = scene.labels.shape
    yy, xx = np.mgrid[0:height, 0:width]
    for _ in range(int(rng.integers(14, 26))):
        radius = float(rng.uniform(7, 16))
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        if scene.labels[int(cy), int(cx)] != LOW_VEGETATION:
            continue
        distance = np.hypot(yy - cy, xx - cx) / radius
        crown = (distance < 1) & np.isin(scene.labels,
                                         (LOW_VEGETATION, TREE))
        _paint(scene, crown, TREE, SPECTRA[TREE])
        dome = rng.uniform(5, 15) * np.sqrt(np.clip(1 - distance**2, 0, 1))
        scene.ndsm[crown] = np.maximum(scene.ndsm[crown], dome[crown])


def _add_small_objects(scene: SyntheticScene, rng: np.random.Generator,
                       label: int, count: int, size: Tuple[int, int],
                       allowed: Tuple[int, ...],
                       height_range: Tuple[float, float]) -> None:
    """Cars on roads, clutter on open ground: small boxes of one class."""
    tile_h, tile_w = scene.labels.shape
    placed = 0
    for _ in range(count * 30):
        if placed == count:
            break
        h, w = size if rng.random() < 0.5 else size[::-1]
        y0, x0 = int(rng.integers(0, tile_h - h)), int(rng.integers(
            0, tile_w - w))
        if not _free(scene, y0 - 2, x0 - 2, y0 + h + 2, x0 + w + 2,
                     allowed):
            continue
        mask = np.zeros_like(scene.labels, dtype=bool)
        mask[y0:y0 + h, x0:x0 + w] = True
        spectrum = (CAR_SPECTRA[int(rng.integers(len(CAR_SPECTRA)))]
                    if label == CAR else SPECTRA[label])
        _paint(scene, mask, label, spectrum)
        scene.ndsm[mask] = rng.uniform(*height_range)
        placed += 1


def _cast_shadows(scene: SyntheticScene, rng: np.random.Generator) -> None:
    """Darken the ground that buildings and trees shade from a low sun.

    One sun direction per tile; the shadow is the elevated area shifted by
    4-10 px, so roads and low vegetation in shade look alike, as they do in
    real orthophotos.
    """
    dy, dx = (int(v) * int(rng.choice((-1, 1)))
              for v in rng.integers(4, 11, size=2))
    elevated = scene.ndsm > 3.0
    height, width = elevated.shape
    shifted = np.zeros_like(elevated)
    shifted[max(dy, 0):height + min(dy, 0), max(dx, 0):width + min(dx, 0)] = \
        elevated[max(-dy, 0):height - max(dy, 0),
                 max(-dx, 0):width - max(dx, 0)]
    shade = shifted & ~elevated
    scene.reflectance[shade] *= 0.55


def generate_scene(height: int, width: int,
                   rng: np.random.Generator) -> SyntheticScene:
    """Draw one synthetic scene.

    Args:
        height (int): Tile height in pixels.
        width (int): Tile width in pixels.
        rng (np.random.Generator): Source of randomness.

    Returns:
        SyntheticScene: Labels, nDSM and R, G, B, NIR reflectance.
    """
    scene = SyntheticScene(
        labels=np.full((height, width), LOW_VEGETATION, np.uint8),
        ndsm=np.zeros((height, width), np.float32),
        reflectance=np.zeros((height, width, 4), np.float32))
    scene.reflectance[:] = SPECTRA[LOW_VEGETATION]
    _add_roads(scene, rng)
    _add_buildings(scene, rng)
    _add_trees(scene, rng)
    _add_small_objects(scene, rng, CAR, int(rng.integers(6, 14)), (12, 22),
                       (IMPERVIOUS, ), (1.3, 1.8))
    _add_small_objects(scene, rng, CLUTTER, int(rng.integers(2, 6)),
                       (14, 24), (LOW_VEGETATION, IMPERVIOUS), (0.0, 2.5))
    low = scene.labels == LOW_VEGETATION
    scene.ndsm[low] = 0.3 * np.clip(_smooth_noise(rng, height, width), 0,
                                    1)[low]
    _cast_shadows(scene, rng)
    # Texture (illumination, material variation) and sensor noise, strong
    # enough that spectra of neighbouring classes overlap.
    texture = 20 * _smooth_noise(rng, height, width, cell=8)[..., None]
    noise = rng.normal(0, 14, size=scene.reflectance.shape)
    scene.reflectance = np.clip(scene.reflectance + texture + noise, 0,
                                255).round().astype(np.uint8)
    return scene


def terrain_dsm(scene: SyntheticScene, base: float,
                rng: np.random.Generator) -> np.ndarray:
    """Absolute heights: the nDSM on a gently sloping plane, (H, W) float32.
    """
    height, width = scene.ndsm.shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    slope_y, slope_x = rng.uniform(-0.01, 0.01, size=2)
    return (base + slope_y * yy + slope_x * xx + scene.ndsm).astype(
        np.float32)


def eroded_boundary(labels: np.ndarray,
                    radius: int = BOUNDARY_RADIUS) -> np.ndarray:
    """Pixels within ``radius`` of a class boundary, (H, W) bool."""
    edge = np.zeros(labels.shape, bool)
    vertical = labels[1:, :] != labels[:-1, :]
    horizontal = labels[:, 1:] != labels[:, :-1]
    edge[1:, :] |= vertical
    edge[:-1, :] |= vertical
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                     (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(edge.astype(np.uint8), disc).astype(bool)


def label_colours(labels: np.ndarray) -> np.ndarray:
    """(H, W) class index -> (H, W, 3) uint8 ISPRS colours."""
    return np.asarray(ISPRS_PALETTE, np.uint8)[labels]


def add_off_palette_colours(colours: np.ndarray, rng: np.random.Generator,
                            fraction: float = 0.01) -> np.ndarray:
    """Move a fraction of pixels off the palette, within 40 grey levels of
    their colour, as in the real Potsdam 4_12 and 6_7."""
    colours = colours.copy()
    chosen = rng.random(colours.shape[:2]) < fraction
    shift = rng.integers(1, 40, size=(int(chosen.sum()), 3))
    values = colours[chosen].astype(np.int32)
    colours[chosen] = np.where(values > 127, values - shift,
                               values + shift).astype(np.uint8)
    return colours


def _tiff_bytes(array: np.ndarray, photometric: str) -> bytes:
    buffer = io.BytesIO()
    extra = (['unspecified'] if photometric == 'rgb' and array.ndim == 3
             and array.shape[2] == 4 else None)
    tifffile.imwrite(buffer, array, photometric=photometric,
                     extrasamples=extra)
    return buffer.getvalue()


def _world_file(tile_index: int, gsd: float) -> bytes:
    """A plausible ESRI world file (pixel size, rotation, origin)."""
    return (f'{gsd}\n0\n0\n-{gsd}\n{368000 + 500 * tile_index}\n'
            f'{5803000 - 500 * tile_index}\n').encode()


class _ArchiveWriter:
    """Collects members per archive and writes the zip files."""

    def __init__(self) -> None:
        self.members: Dict[str, Dict[str, bytes]] = {}

    def add(self, archive: str, member: str, data: bytes) -> None:
        self.members.setdefault(archive, {})[member] = data

    def add_tile(self, spec: MemberSpec, tile: str, data: bytes) -> None:
        """Add a tile's file under its official member name."""
        self.add(spec.archive, spec.member(tile), data)

    def write(self, archive_dir: str) -> None:
        os.makedirs(archive_dir, exist_ok=True)
        for archive, members in self.members.items():
            partial = osp.join(archive_dir, f'.{archive}.partial')
            with zipfile.ZipFile(partial, 'w', zipfile.ZIP_DEFLATED,
                                 compresslevel=1) as zf:
                for member, data in sorted(members.items()):
                    zf.writestr(member, data)
            os.replace(partial, osp.join(archive_dir, archive))


def _add_potsdam_tile(writer: _ArchiveWriter, tile: str, index: int,
                      split: str, scene: SyntheticScene,
                      dsm: np.ndarray) -> None:
    """Potsdam's optical files (RGBIR, RGB, IRRG with world files), DSM and
    8-bit normalised DSM of one tile."""
    r, g, b, nir = np.moveaxis(scene.reflectance, 2, 0)
    for spec, bands in ((potsdam.RGBIR, (r, g, b, nir)),
                        (potsdam.RGB, (r, g, b)), (potsdam.IRRG,
                                                   (nir, r, g))):
        writer.add_tile(spec, tile, _tiff_bytes(np.stack(bands, 2), 'rgb'))
        writer.add(spec.archive, spec.member(tile)[:-len('.tif')] + '.tfw',
                   _world_file(index, 0.05))
    writer.add_tile(potsdam.DSM, tile, _tiff_bytes(dsm, 'minisblack'))
    levels = np.clip(scene.ndsm * NDSM_LEVELS_PER_METRE, 0,
                     255).round().astype(np.uint8)
    writer.add_tile(
        potsdam.NDSM, tile,
        cv2.imencode('.jpg', levels, [cv2.IMWRITE_JPEG_QUALITY, 95])[1]
        .tobytes())


def _add_vaihingen_tile(writer: _ArchiveWriter, tile: str, index: int,
                        split: str, scene: SyntheticScene,
                        dsm: np.ndarray) -> None:
    """Vaihingen's NIR-R-G file and DSM of one tile; training areas also get
    the old ``gts_for_participants/`` labels, named like the image."""
    r, g, _, nir = np.moveaxis(scene.reflectance, 2, 0)
    writer.add_tile(vaihingen.TOP, tile,
                    _tiff_bytes(np.stack((nir, r, g), 2), 'rgb'))
    writer.add_tile(vaihingen.DSM, tile, _tiff_bytes(dsm, 'minisblack'))
    if split == 'train':
        writer.add(
            vaihingen.TOP.archive, 'gts_for_participants/' +
            osp.basename(vaihingen.TOP.member(tile)),
            _tiff_bytes(label_colours(scene.labels), 'rgb'))


SAMPLE_WRITERS = dict(
    potsdam=(_add_potsdam_tile, potsdam.POTSDAM_LAYOUT),
    vaihingen=(_add_vaihingen_tile, vaihingen.VAIHINGEN_LAYOUT))


def _tiles(dataset: str):
    """(index, split, tile, (height, width)) of the sample tiles."""
    index = 0
    for split in ('train', 'val'):
        for tile, size in SAMPLE_TILES[dataset][split].items():
            yield index, split, tile, size
            index += 1


def _scene_for(dataset: str, index: int, tile: str, size: Tuple[int, int],
               seed: int):
    """Scene, DSM, label colours and eroded label colours of a tile."""
    rng = np.random.default_rng([seed, list(SAMPLE_TILES).index(dataset),
                                 index])
    scene = generate_scene(*size, rng)
    dsm = terrain_dsm(scene, TERRAIN_HEIGHT[dataset], rng)
    colours = label_colours(scene.labels)
    eroded = colours.copy()
    eroded[eroded_boundary(scene.labels)] = BOUNDARY_COLOUR
    if tile in OFF_PALETTE_TILES:
        colours = add_off_palette_colours(colours, rng)
    return scene, dsm, colours, eroded


def write_sample_archives(dataset: str, archive_dir: str,
                          seed: int = 0) -> None:
    """Write the synthetic sample of a data set as its official archives.

    Potsdam: ``2_Ortho_RGB.zip``, ``3_Ortho_IRRG.zip``,
    ``4_Ortho_RGBIR.zip``, ``1_DSM.zip``, ``1_DSM_normalisation.zip``,
    ``5_Labels_all.zip``, ``5_Labels_all_noBoundary.zip``. Vaihingen:
    ``ISPRS_semantic_labeling_Vaihingen.zip`` and the COMPLETE full and
    eroded ground truth archives.

    Args:
        dataset (str): 'potsdam' or 'vaihingen'.
        archive_dir (str): Folder to write the archives into.
        seed (int): Seed of the scenes.
    """
    add_tile, layout = SAMPLE_WRITERS[dataset]
    writer = _ArchiveWriter()
    for index, split, tile, size in _tiles(dataset):
        scene, dsm, colours, eroded = _scene_for(dataset, index, tile, size,
                                                 seed)
        add_tile(writer, tile, index, split, scene, dsm)
        writer.add_tile(layout.labels, tile, _tiff_bytes(colours, 'rgb'))
        writer.add_tile(layout.eroded_labels, tile,
                        _tiff_bytes(eroded, 'rgb'))
    writer.write(archive_dir)


SAMPLE_RECORD = 'sample.json'


def make_sample_data(dataset: str,
                     out_root: str,
                     seed: int = 0,
                     progress: bool = True) -> dict:
    """Write the synthetic archives of a data set and convert them.

    Writes ``{out_root}/archives/{dataset}/*.zip`` (official layout) and
    converts them into ``{out_root}/{dataset}`` with the real converter
    (whole tiles, default DSM source). Archives already written with the
    same seed are kept, and the conversion resumes (skips tiles written).

    Args:
        dataset (str): 'potsdam' or 'vaihingen'.
        out_root (str): Output root, e.g. ``data/sample``.
        seed (int): Seed of the synthetic scenes.
        progress (bool): Show the converter's progress bar.

    Returns:
        dict: The conversion manifest (see
        :func:`~mmseg_lanet.datasets.converters.convert_dataset`).
    """
    if dataset not in SAMPLE_WRITERS:
        raise ValueError(f'unknown data set {dataset!r}; choose from '
                         f'{list(SAMPLE_WRITERS)}')
    layout = SAMPLE_WRITERS[dataset][1]
    archive_dir = osp.join(out_root, 'archives', dataset)
    out_dir = osp.join(out_root, dataset)
    record = dict(seed=seed, tiles=SAMPLE_TILES[dataset])
    record = json.loads(json.dumps(record))  # tuples -> lists, as stored
    record_path = osp.join(archive_dir, SAMPLE_RECORD)
    previous = None
    if osp.isfile(record_path):
        with open(record_path) as f:
            previous = json.load(f)
    if previous != record:
        if osp.isfile(osp.join(out_dir, MANIFEST)):
            raise FileExistsError(
                f'{out_dir} holds a conversion of other sample archives '
                f'({previous}); remove it or choose another output root')
        write_sample_archives(dataset, archive_dir, seed)
        with open(record_path, 'w') as f:
            json.dump(record, f)
    return convert_dataset(layout, archive_dir, out_dir, progress=progress)
