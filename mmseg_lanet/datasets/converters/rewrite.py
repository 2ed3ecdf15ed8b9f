"""Rewriting converted data in place into the windowed layout.

Data converted before the windowed layout has PNG label maps (which cannot
be read by window) and no optical statistics in ``conversion.json``. The
rewrite turns every file the manifest lists into an uncompressed TIFF and
records what is missing, one tile at a time:

1. each new file is written under a temporary name and renamed (never a
   truncated file under its final name);
2. the tile's record (new file names, optical statistics) is saved in
   ``conversion.json``, itself replaced atomically;
3. only then are the tile's old PNG files removed.

Interrupted anywhere, every tile keeps a readable label file (old PNG, new
TIFF, or both: the data sets take the TIFF), and a rerun finishes the job,
skipping what is done.
"""
import json
import os
import os.path as osp
from typing import List, Tuple

from tqdm import tqdm

from ..raster_io import is_windowed, open_raster, read_raster, write_raster
from .convert import (MANIFEST, OUTPUT_DIRS, WINDOWED_LAYOUT,
                      _save_manifest, optical_moments)

OLD_LABEL_SUFFIX = '.png'


def _rewrite_file(root: str, relative: str) -> Tuple[str, List[str], bool]:
    """Bring one listed file into the windowed layout.

    Returns:
        tuple: (its new name relative to ``root``, old files to remove once
        the manifest names the new one, whether anything was written).
    """
    stem, suffix = osp.splitext(relative)
    old_png = osp.join(root, stem + OLD_LABEL_SUFFIX)
    target = stem + '.tif'
    path = osp.join(root, target)
    leftovers = [old_png] if osp.isfile(old_png) else []
    if osp.isfile(path):
        if is_windowed(path):
            return target, leftovers, False
        source = path  # a compressed or tiled TIFF: rewrite it as is
    elif suffix == OLD_LABEL_SUFFIX and leftovers:
        source = old_png
    else:
        raise FileNotFoundError(
            f'{osp.join(root, relative)}: listed in {MANIFEST} but missing '
            f'(nor is there {path}); convert this tile again')
    write_raster(path, read_raster(source))
    return target, leftovers, True


def rewrite_layout(root: str, progress: bool = True) -> dict:
    """Rewrite a converted data set in place into the windowed layout.

    Args:
        root (str): The converter's output folder (with
            ``conversion.json``).
        progress (bool): Show a progress bar.

    Returns:
        dict: ``rewritten`` (files written), ``removed`` (old files
        deleted), ``statistics`` (tiles given optical statistics).

    Raises:
        FileNotFoundError: No manifest, or a file it lists is missing.
    """
    manifest_path = osp.join(root, MANIFEST)
    if not osp.isfile(manifest_path):
        raise FileNotFoundError(
            f'{manifest_path} not found: the rewrite works from the '
            "converter's record of the files; convert the archives again "
            'with tools/dataset_converters instead')
    with open(manifest_path) as f:
        manifest = json.load(f)
    summary = dict(rewritten=0, removed=0, statistics=0)
    for tile, record in tqdm(sorted(manifest['tiles'].items()),
                             desc=f'rewriting {root}', unit='tile',
                             disable=not progress):
        files, obsolete = [], []
        for relative in record['files']:
            target, leftovers, written = _rewrite_file(root, relative)
            files.append(target)
            obsolete += leftovers
            summary['rewritten'] += written
        images = [f for f in files
                  if f.startswith(OUTPUT_DIRS['img'] + os.sep)]
        # Statistics of a whole tile; overlapping crops would weigh their
        # shared pixels twice, so crops data stays without them.
        changed = files != record['files']
        if 'img_sum' not in record and len(images) == 1:
            record.update(
                optical_moments(open_raster(osp.join(root, images[0]))))
            summary['statistics'] += 1
            changed = True
        if changed:
            record['files'] = files
            _save_manifest(manifest_path, manifest)
        for path in obsolete:
            os.remove(path)
        summary['removed'] += len(obsolete)
    manifest['layout'] = WINDOWED_LAYOUT
    _save_manifest(manifest_path, manifest)
    return summary
