"""Multi-band ISPRS data sets: optical bands plus a height band per tile.
"""
import json
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import mmengine
import mmengine.fileio as fileio

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS
from .isprs_classes import HEIGHT_BANDS, ISPRS_CLASSES, ISPRS_PALETTE
from .raster_io import is_windowed, raster_shape

# Label suffixes tried, in order, when ``seg_map_suffix`` is None: the
# windowed layout's TIFF, then the PNG of data converted before it.
LABEL_SUFFIXES = ('.tif', '.png')
REWRITE_COMMAND = 'python tools/dataset_converters/rewrite_layout.py'
# Data roots already warned about (one warning per root and process,
# whichever of its splits is built first).
_WARNED_ROOTS = set()


def _is_local(path: str) -> bool:
    return '://' not in path


@DATASETS.register_module()
class ISPRSMultiBandDataset(BaseSegDataset):
    """An ISPRS data set converted by ``tools/dataset_converters``.

    Each sample joins three files of the same name (see
    ``docs/user_guides/data_preparation.md``)::

        {data_root}/{img_path}/{name}.tif      (H, W, C) optical bands
        {data_root}/{dsm_path}/{name}.tif      (H, W) heights
        {data_root}/{seg_map_path}/{name}.tif  (H, W) class index, 255 ignored
                                               (.png in data converted
                                               before the windowed layout)

    ``bands`` chooses what the model receives, in order: names of the
    optical file's bands (``METAINFO['file_bands']``) and at most one height
    band ('DSM' or 'nDSM', read from ``dsm_path``). Each sample's info
    carries ``band_names``, ``file_band_names``, ``band_indices`` and
    ``num_classes``, from which :class:`LoadMultiBandImageFromFile` and
    :class:`LoadISPRSAnnotations` check every file they read.

    Which reference is used is chosen by ``seg_map_path``:
    ``ann_eroded_dir/...`` (ISPRS convention, boundaries ignored) or
    ``ann_dir/...`` (full reference).

    At build time the headers of every file are read (no pixels): the
    optical, height and label files of a sample must have one size (an
    error names the three files and their sizes), and a truncated or
    unreadable file is an error naming it. Each sample's info also gets

    - ``tile_shape``: (H, W), from which ``LoadMultiBandCrop`` draws its
      crop without decoding the tile;
    - ``dsm_stats``: (count, sum, sum of squares) of the whole tile's
      heights, from the converter's ``conversion.json`` (for a crop, those
      of its tile), used by ``NormalizeDSM(mode='per_tile')``; None when
      the manifest does not record the sample, ``dsm_stats_missing`` then
      says why.

    Data converted before the windowed layout (PNG labels, or compressed
    TIFFs) still loads, each sample decoding its whole files; one warning
    per data root names the command that rewrites it in place.

    Args:
        bands (Sequence[str], optional): Bands given to the model, in
            order. Defaults to all optical bands followed by the subclass's
            height band (``DEFAULT_BANDS``).
        img_suffix (str): Optical file suffix. Defaults to '.tif'.
        dsm_suffix (str): Height file suffix. Defaults to '.tif'.
        seg_map_suffix (str, optional): Label file suffix. Defaults to
            None: '.tif' where such a file exists, else '.png'.
        manifest (str, optional): The converter's ``conversion.json``,
            relative to ``data_root``; None for no per-tile statistics.
            Defaults to 'conversion.json' (no error if it is absent: the
            samples then have ``dsm_stats=None``).
        **kwargs: See :class:`mmseg.datasets.BaseSegDataset`;
            ``data_prefix`` takes ``img_path``, ``dsm_path`` and
            ``seg_map_path``. ``reduce_zero_label`` must stay False: class 0
            (impervious surfaces) is a real class.
    """
    METAINFO = dict(
        classes=ISPRS_CLASSES,
        palette=[list(colour) for colour in ISPRS_PALETTE],
        file_bands=())
    DEFAULT_BANDS: Sequence[str] = ()

    def __init__(self,
                 bands: Optional[Sequence[str]] = None,
                 img_suffix: str = '.tif',
                 dsm_suffix: str = '.tif',
                 seg_map_suffix: Optional[str] = None,
                 manifest: Optional[str] = 'conversion.json',
                 **kwargs) -> None:
        if kwargs.get('reduce_zero_label'):
            raise ValueError(
                f'{type(self).__name__}: reduce_zero_label=True would turn '
                'class 0 (impervious surfaces) into the ignore index; ISPRS '
                'label maps written by the converters need False')
        self.bands = tuple(bands if bands is not None else self.DEFAULT_BANDS)
        self.dsm_suffix = dsm_suffix
        self.manifest = manifest
        self.band_indices = self._check_bands(self.bands)
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)
        self._metainfo.update(bands=self.bands)

    @classmethod
    def _check_bands(cls, bands: Sequence[str]) -> List[int]:
        """Validate ``bands``; return the optical file's band indices used.
        """
        file_bands = tuple(cls.METAINFO['file_bands'])
        known = file_bands + HEIGHT_BANDS
        if not bands:
            raise ValueError(f'{cls.__name__}: no bands given; choose from '
                             f'{known}')
        unknown = [b for b in bands if b not in known]
        if unknown:
            raise ValueError(f'{cls.__name__}: unknown band(s) {unknown}; '
                             f'its files hold {file_bands} and a height '
                             f'band named one of {HEIGHT_BANDS}')
        if len(set(bands)) != len(bands) or sum(
                b in HEIGHT_BANDS for b in bands) > 1:
            raise ValueError(f'{cls.__name__}: bands {tuple(bands)} repeat a '
                             'band (at most one height band)')
        return [file_bands.index(b) for b in bands if b not in HEIGHT_BANDS]

    @property
    def height_band(self) -> Optional[str]:
        """The height band's name, or None if the model gets no height."""
        return next((b for b in self.bands if b in HEIGHT_BANDS), None)

    def _sample_names(self, img_dir: str) -> List[str]:
        if self.ann_file:
            return [line.strip() for line in mmengine.list_from_file(
                self.ann_file, backend_args=self.backend_args)
                    if line.strip()]
        names = sorted(
            img[:-len(self.img_suffix)] for img in fileio.list_dir_or_file(
                dir_path=img_dir,
                list_dir=False,
                suffix=self.img_suffix,
                recursive=True,
                backend_args=self.backend_args))
        if not names:
            raise FileNotFoundError(
                f'{type(self).__name__}: no {self.img_suffix!r} images in '
                f'{img_dir}')
        return names

    def _label_path(self, ann_dir: str, name: str) -> str:
        suffixes = ((self.seg_map_suffix, ) if self.seg_map_suffix else
                    LABEL_SUFFIXES)
        paths = [osp.join(ann_dir, name + suffix) for suffix in suffixes]
        return next((path for path in paths
                     if fileio.exists(path, backend_args=self.backend_args)),
                    paths[0])

    def _load_manifest(self) -> Tuple[Optional[str], Dict[str, dict]]:
        """The manifest's path and its tile records by file (relative to
        ``data_root``), or (None, {}) without a manifest."""
        if not self.manifest:
            return None, {}
        path = osp.join(self.data_root or '', self.manifest)
        if not (_is_local(path) and osp.isfile(path)):
            return None, {}
        with open(path) as f:
            tiles = json.load(f).get('tiles', {})
        by_file = {}
        for tile, record in tiles.items():
            for file in record.get('files', ()):
                by_file[osp.normpath(file)] = dict(record, tile=tile)
        return path, by_file

    def _add_tile_info(self, info: dict, manifest: Optional[str],
                       records: Dict[str, dict]) -> None:
        """Check the sample's file sizes from their headers; add
        ``tile_shape`` and the whole tile's ``dsm_stats``."""
        paths = [info[key] for key in ('img_path', 'dsm_path', 'seg_map_path')
                 if key in info]
        sizes = [raster_shape(path)[:2] for path in paths]
        if len(set(sizes)) > 1:
            listing = '\n  '.join(f'{h} x {w}: {path}'
                                  for path, (h, w) in zip(paths, sizes))
            raise ValueError(f'{type(self).__name__}: the files of one '
                             f'sample differ in size:\n  {listing}')
        info['tile_shape'] = sizes[0]
        relative = osp.normpath(
            osp.relpath(info['img_path'], self.data_root or '.'))
        record = records.get(relative)
        if record is not None and 'dsm_count' in record:
            info['dsm_stats'] = (record['dsm_count'], record['dsm_sum'],
                                 record['dsm_sum_sq'])
        else:
            info['dsm_stats'] = None
            info['dsm_stats_missing'] = (
                f'{relative} is not recorded in {manifest}' if manifest else
                f'no {self.manifest} in {self.data_root}')

    def _warn_whole_tile_layout(self, slow: List[str]) -> None:
        root = self.data_root or osp.dirname(slow[0])
        if root in _WARNED_ROOTS:
            return
        _WARNED_ROOTS.add(root)
        warnings.warn(
            f'{type(self).__name__}: {len(slow)} file(s) under {root} are '
            f'not in the windowed layout (e.g. {slow[0]}): every training '
            'sample decodes whole tiles. Rewrite the data in place (resumable)'
            f' with:\n  {REWRITE_COMMAND} {root}')

    def load_data_list(self) -> List[dict]:
        """One info dict per image of ``data_prefix['img_path']`` (or per
        name listed in ``ann_file``).

        Raises:
            FileNotFoundError: No image found, or a height or label file
                is missing (all missing files are listed).
            ValueError: A file cannot be read as a raster, is truncated, or
                the files of a sample differ in size (named).
        """
        img_dir = self.data_prefix.get('img_path', '')
        dsm_dir = self.data_prefix.get('dsm_path')
        ann_dir = self.data_prefix.get('seg_map_path')
        if self.height_band and not dsm_dir:
            raise ValueError(
                f'{type(self).__name__}: band {self.height_band!r} requested '
                "but data_prefix has no 'dsm_path'")
        file_bands = tuple(self.METAINFO['file_bands'])
        data_list, missing = [], []
        for name in self._sample_names(img_dir):
            info = dict(
                img_path=osp.join(img_dir, name + self.img_suffix),
                band_names=self.bands,
                file_band_names=file_bands,
                band_indices=self.band_indices,
                num_classes=len(self._metainfo['classes']),
                label_map=self.label_map,
                reduce_zero_label=False,
                seg_fields=[])
            if self.height_band:
                info['dsm_path'] = osp.join(dsm_dir, name + self.dsm_suffix)
            if ann_dir is not None:
                info['seg_map_path'] = self._label_path(ann_dir, name)
            missing += [
                info[key] for key in ('img_path', 'dsm_path', 'seg_map_path')
                if key in info and not fileio.exists(
                    info[key], backend_args=self.backend_args)
            ]
            data_list.append(info)
        if missing:
            listed = '\n  '.join(missing[:10])
            more = f'\n  ... and {len(missing) - 10} more' if len(
                missing) > 10 else ''
            raise FileNotFoundError(f'{type(self).__name__}: {len(missing)} '
                                    f'file(s) missing:\n  {listed}{more}')
        if data_list and _is_local(data_list[0]['img_path']):
            manifest, records = self._load_manifest()
            slow = []
            for info in data_list:
                self._add_tile_info(info, manifest, records)
                slow += [info[key] for key in ('img_path', 'dsm_path',
                                               'seg_map_path')
                         if key in info and not is_windowed(info[key])]
            if slow:
                self._warn_whole_tile_layout(slow)
        return data_list
