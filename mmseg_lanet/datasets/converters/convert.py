"""Converting official ISPRS archives into the layout the data sets read.

Output layout under ``out_dir`` (``{split}`` is ``train`` or ``val``, the
official test tiles being written as ``val`` as MMSegmentation does)::

    img_dir/{split}/{name}.tif         (H, W, C) uint8 optical bands, in the
                                       data set's order (Potsdam R, G, B,
                                       NIR; Vaihingen NIR, R, G)
    dsm_dir/{split}/{name}.tif         (H, W) float32 heights, pixel-aligned
    ann_dir/{split}/{name}.tif         (H, W) uint8 class index 0..5 (full
                                       reference); 255 = undecodable colour
    ann_eroded_dir/{split}/{name}.tif  the same from the eroded reference:
                                       255 also on the ignored boundaries
    conversion.json                    settings, per-tile files, colour
                                       reports, height and optical
                                       statistics per tile

All files are uncompressed TIFFs (the windowed layout: a training crop
reads only its own pixels).

``{name}`` is the tile id (``2_10``, ``area1``) for whole tiles, and
``{tile}_{x0}_{y0}_{x1}_{y1}`` for crops. A tile is recorded in
``conversion.json`` only once all its files are written (each file is
written under a temporary name and renamed), so an interrupted conversion
resumes where it stopped: recorded tiles whose files exist are skipped.
"""
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from ..isprs_classes import BOUNDARY_COLOUR, IGNORE_INDEX, ISPRS_PALETTE
from ..raster_io import write_raster
from .archives import ArchiveSet
from .colour_labels import ColourReport, decode_colour_labels
from .layout import BandSource, DatasetLayout, MemberSpec
from .tiling import crop_windows

OUTPUT_DIRS = dict(
    img='img_dir', dsm='dsm_dir', labels='ann_dir',
    eroded_labels='ann_eroded_dir')
# Every file is an uncompressed TIFF with interleaved bands: the windowed
# layout, from which training reads only its crop (raster_io.open_raster;
# docs/user_guides/data_preparation.md gives the measurements behind the
# choice).
OUTPUT_SUFFIXES = dict(img='.tif', dsm='.tif', labels='.tif',
                       eroded_labels='.tif')
MANIFEST = 'conversion.json'
# conversion.json's 'layout': 'windowed' once every file is in it; data
# converted before (PNG labels) has no such key.
WINDOWED_LAYOUT = 'windowed'
MODES = ('tiles', 'crops')


@dataclass
class TilePlan:
    """Where every file of one tile is.

    Args:
        tile (str): Canonical tile id.
        split (str): 'train' or 'val'.
        members (dict): Role -> list of (spec, member path, band indices);
            roles are 'img', 'dsm', 'labels', 'eroded_labels'.
    """
    tile: str
    split: str
    members: Dict[str, List[Tuple[MemberSpec, str, Tuple[int, ...]]]]


@dataclass
class ConversionPlan:
    """What a conversion will read.

    Args:
        tiles (list[TilePlan]): Tiles to convert, in processing order.
        optical (Sequence[BandSource]): The chosen way to assemble bands.
        dsm_source (str): Name of the chosen height source.
        unlisted (list[str]): Tiles in neither official list (skipped).
        orphans (dict[str, list[str]]): Archive -> tiles it holds that have
            no optical image (ignored, e.g. Vaihingen's eroded area9).
    """
    tiles: List[TilePlan]
    optical: Sequence[BandSource]
    dsm_source: str
    unlisted: List[str]
    orphans: Dict[str, List[str]]


def _choose_optical(layout: DatasetLayout,
                    archives: ArchiveSet) -> Sequence[BandSource]:
    for way in layout.optical:
        if all(archives.has(source.spec.archive) for source in way):
            return way
    needed = ' or '.join(' + '.join(source.spec.archive for source in way)
                         for way in layout.optical)
    raise FileNotFoundError(f'no optical archives of {layout.name} in '
                            f'{archives.archive_dir}: need {needed}')


def _choose_dsm(layout: DatasetLayout, archives: ArchiveSet,
                dsm: str) -> str:
    if dsm == 'auto':
        for name, spec in layout.dsm.items():
            if archives.has(spec.archive):
                return name
        needed = ' or '.join(spec.archive for spec in layout.dsm.values())
        raise FileNotFoundError(f'no height archive of {layout.name} in '
                                f'{archives.archive_dir}: need {needed}')
    if dsm not in layout.dsm:
        raise ValueError(f'unknown DSM source {dsm!r} for {layout.name}; '
                         f"choose from {['auto', *layout.dsm]}")
    if not archives.has(layout.dsm[dsm].archive):
        raise FileNotFoundError(
            f'archive not found: {archives.path(layout.dsm[dsm].archive)}')
    return dsm


def plan_conversion(layout: DatasetLayout, archives: ArchiveSet,
                    dsm: str = 'auto') -> ConversionPlan:
    """Index the archives and check that every tile has all its files.

    Args:
        layout (DatasetLayout): The data set's archive layout.
        archives (ArchiveSet): The downloaded archives.
        dsm (str): Height source name, or 'auto' for the first present one.

    Returns:
        ConversionPlan: The tiles to convert.

    Raises:
        FileNotFoundError: A needed archive is missing.
        ValueError: Some tiles lack a file; the message lists each of them
            with the member expected and its archive.
    """
    optical = _choose_optical(layout, archives)
    dsm_source = _choose_dsm(layout, archives, dsm)
    roles: List[Tuple[str, MemberSpec, Tuple[int, ...]]] = [
        ('img', source.spec, source.bands) for source in optical]
    roles += [('dsm', layout.dsm[dsm_source], (0, )),
              ('labels', layout.labels, (0, 1, 2)),
              ('eroded_labels', layout.eroded_labels, (0, 1, 2))]
    found = {spec: archives.find(spec) for _, spec, _ in roles}

    image_tiles = sorted(found[roles[0][1]])
    if not image_tiles:
        raise ValueError(f'{archives.path(roles[0][1].archive)}: no member '
                         f'like {roles[0][1].template}')
    unlisted = [t for t in image_tiles if layout.split_of(t) is None]
    missing, tiles = [], []
    for tile in image_tiles:
        split = layout.split_of(tile)
        if split is None:
            continue
        members: Dict[str, list] = {}
        for role, spec, bands in roles:
            member = found[spec].get(tile)
            if member is None:
                missing.append(f'tile {tile}: no {role} file '
                               f'{spec.member(tile)} in '
                               f'{archives.path(spec.archive)}')
            members.setdefault(role, []).append((spec, member, bands))
        tiles.append(TilePlan(tile, split, members))
    if missing:
        raise ValueError('incomplete archives:\n  ' + '\n  '.join(missing))
    orphans = {}
    for _, spec, _ in roles[1:]:
        extra = sorted(set(found[spec]) - set(image_tiles))
        if extra:
            orphans[spec.archive] = extra
    tiles.sort(key=lambda plan: (plan.split != 'train', plan.tile))
    return ConversionPlan(tiles, optical, dsm_source, unlisted, orphans)


@dataclass
class TileArrays:
    """One tile, decoded.

    Args:
        img (np.ndarray): (H, W, C) uint8 optical bands.
        dsm (np.ndarray): (H, W) float32 heights.
        labels (np.ndarray): (H, W) uint8 class indices, full reference.
        eroded_labels (np.ndarray): (H, W) uint8, eroded reference.
        reports (dict[str, ColourReport]): Colour decoding per label role.
    """
    img: np.ndarray
    dsm: np.ndarray
    labels: np.ndarray
    eroded_labels: np.ndarray
    reports: Dict[str, ColourReport]


def load_tile(archives: ArchiveSet, plan: TilePlan,
              threshold: int = 127) -> TileArrays:
    """Read, check and decode all files of one tile.

    Raises:
        ValueError: A file has the wrong band count or dtype, holds
            non-finite heights, or its size differs from the others; the
            message names the files.
    """
    arrays, names = {}, {}
    for role, parts in plan.members.items():
        bands = []
        for spec, member, indices in parts:
            name = f'{archives.path(spec.archive)}:{member}'
            array = archives.read(spec, member)
            names.setdefault(role, []).append(name)
            bands.append(array.reshape(array.shape[:2] + (-1, ))[..., list(
                indices)])
        arrays[role] = np.concatenate(bands, axis=2)
    sizes = {name: arrays[role].shape[:2]
             for role in arrays for name in names[role]}
    if len(set(sizes.values())) != 1:
        listing = '\n  '.join(f'{h} x {w}: {name}'
                              for name, (h, w) in sizes.items())
        raise ValueError(
            f'tile {plan.tile}: files differ in size:\n  {listing}')
    if arrays['img'].dtype != np.uint8:
        raise ValueError(f'{names["img"]}: optical bands are '
                         f'{arrays["img"].dtype}, expected uint8')
    dsm = arrays['dsm'][..., 0].astype(np.float32)
    if not np.isfinite(dsm).all():
        raise ValueError(f'{names["dsm"][0]}: '
                         f'{np.count_nonzero(~np.isfinite(dsm))} non-finite '
                         'height values')
    labels, full_report = decode_colour_labels(
        arrays['labels'], ISPRS_PALETTE, ignore_colour=None,
        ignore_index=IGNORE_INDEX, threshold=threshold)
    eroded, eroded_report = decode_colour_labels(
        arrays['eroded_labels'], ISPRS_PALETTE,
        ignore_colour=BOUNDARY_COLOUR, ignore_index=IGNORE_INDEX,
        threshold=threshold)
    return TileArrays(arrays['img'], dsm, labels, eroded,
                      dict(labels=full_report, eroded_labels=eroded_report))


def optical_moments(img: np.ndarray) -> dict:
    """Pixel count and per-band sums and sums of squares of a tile's
    optical bands, as recorded in ``conversion.json`` (pooled over the
    training tiles by :func:`.report.optical_statistics`).

    Args:
        img (np.ndarray): (H, W, C) optical bands (uint8 counted exactly
            through a histogram).

    Returns:
        dict: ``img_count``, ``img_sum`` and ``img_sum_sq`` (one per band).
    """
    sums, sums_sq = [], []
    for band in range(img.shape[2]):
        values = img[..., band]
        if values.dtype == np.uint8:
            levels = np.arange(256, dtype=np.float64)
            hist = np.bincount(values.ravel(), minlength=256)
            sums.append(float(hist @ levels))
            sums_sq.append(float(hist @ levels**2))
        else:
            values = values.astype(np.float64)
            sums.append(float(values.sum()))
            sums_sq.append(float(np.square(values).sum()))
    return dict(img_count=int(img.shape[0] * img.shape[1]), img_sum=sums,
                img_sum_sq=sums_sq)


def write_tile(out_dir: str, plan: TilePlan, arrays: TileArrays,
               windows: Sequence[Tuple[int, int, int, int]]) -> List[str]:
    """Write one tile (or its crops) in the output layout.

    Args:
        out_dir (str): Output root.
        plan (TilePlan): The tile.
        arrays (TileArrays): Its decoded data.
        windows (Sequence[tuple]): ``(y0, x0, y1, x1)`` windows; a single
            window covering the tile writes the tile under its own name.

    Returns:
        list[str]: Written files, relative to ``out_dir``.
    """
    height, width = arrays.dsm.shape
    written = []
    for y0, x0, y1, x1 in windows:
        whole = (y0, x0, y1, x1) == (0, 0, height, width)
        name = plan.tile if whole else f'{plan.tile}_{x0}_{y0}_{x1}_{y1}'
        for role, folder in OUTPUT_DIRS.items():
            relative = osp.join(folder, plan.split,
                                name + OUTPUT_SUFFIXES[role])
            write_raster(
                osp.join(out_dir, relative),
                np.ascontiguousarray(getattr(arrays, role)[y0:y1, x0:x1]))
            written.append(relative)
    return written


def _load_manifest(path: str, settings: dict) -> dict:
    if not osp.isfile(path):
        return dict(settings=settings, tiles={})
    with open(path) as f:
        manifest = json.load(f)
    if manifest.get('settings') != settings:
        raise ValueError(
            f'{path} records a conversion with other settings:\n'
            f'  recorded: {manifest.get("settings")}\n  now:      '
            f'{settings}\nconvert into another folder, or repeat the '
            'recorded options to resume')
    return manifest


def _save_manifest(path: str, manifest: dict) -> None:
    partial = path + '.partial'
    with open(partial, 'w') as f:
        json.dump(manifest, f, indent=1)
    os.replace(partial, path)


def _tile_is_done(out_dir: str, record: Optional[dict]) -> bool:
    return record is not None and all(
        osp.isfile(osp.join(out_dir, f)) for f in record['files'])


def convert_dataset(layout: DatasetLayout,
                    archive_dir: str,
                    out_dir: str,
                    mode: str = 'tiles',
                    crop_size: int = 512,
                    stride: int = 256,
                    dsm: str = 'auto',
                    threshold: int = 127,
                    progress: bool = True) -> dict:
    """Convert the official archives of one data set.

    Args:
        layout (DatasetLayout): The data set's archive layout.
        archive_dir (str): Folder with the downloaded zip archives.
        out_dir (str): Output root (see the module docstring).
        mode (str): 'tiles' writes whole tiles (the paper's setting: random
            crops are taken at training time); 'crops' writes overlapping
            ``crop_size`` crops every ``stride`` pixels.
        crop_size (int): Crop side length in 'crops' mode.
        stride (int): Stride between crops in 'crops' mode.
        dsm (str): Height source ('auto' takes the first present of
            ``layout.dsm``, e.g. Potsdam's nDSM before its DSM).
        threshold (int): Channel threshold for decoding label colours.
        progress (bool): Show a progress bar.

    Returns:
        dict: The manifest (also written to ``out_dir/conversion.json``),
        with an extra key ``'run'`` describing this call (tiles written,
        skipped, unlisted and orphan tiles).
    """
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    with ArchiveSet(archive_dir) as archives:
        plan = plan_conversion(layout, archives, dsm)
        settings = dict(
            dataset=layout.name, mode=mode,
            crop_size=crop_size if mode == 'crops' else None,
            stride=stride if mode == 'crops' else None,
            bands=list(layout.band_names),
            optical=[
                f'{s.spec.archive} (band{"s" if len(s.bands) > 1 else ""} '
                f'{", ".join(str(b + 1) for b in s.bands)})'
                for s in plan.optical
            ],
            dsm_source=plan.dsm_source,
            dsm_archive=layout.dsm[plan.dsm_source].archive,
            threshold=threshold)
        manifest_path = osp.join(out_dir, MANIFEST)
        os.makedirs(out_dir, exist_ok=True)
        manifest = _load_manifest(manifest_path, settings)
        written, skipped = [], []
        for tile_plan in tqdm(plan.tiles, desc=f'converting {layout.name}',
                              unit='tile', disable=not progress):
            if _tile_is_done(out_dir, manifest['tiles'].get(tile_plan.tile)):
                skipped.append(tile_plan.tile)
                continue
            arrays = load_tile(archives, tile_plan, threshold)
            height, width = arrays.dsm.shape
            windows = ([(0, 0, height, width)] if mode == 'tiles' else
                       crop_windows(height, width, crop_size, stride))
            files = write_tile(out_dir, tile_plan, arrays, windows)
            dsm64 = arrays.dsm.astype(np.float64)
            manifest['tiles'][tile_plan.tile] = dict(
                split=tile_plan.split,
                size=[height, width],
                files=files,
                colours={role: report.to_dict()
                         for role, report in arrays.reports.items()},
                dsm_count=int(dsm64.size),
                dsm_sum=float(dsm64.sum()),
                dsm_sum_sq=float(np.square(dsm64).sum()),
                **optical_moments(arrays.img))
            manifest['layout'] = WINDOWED_LAYOUT
            _save_manifest(manifest_path, manifest)
            written.append(tile_plan.tile)
    manifest['run'] = dict(
        out_dir=out_dir, written=written, skipped=skipped,
        unlisted=plan.unlisted, orphans=plan.orphans,
        dsm_note=layout.notes.get(plan.dsm_source, plan.dsm_source))
    return manifest
