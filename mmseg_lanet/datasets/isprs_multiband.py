"""Multi-band ISPRS data sets: optical bands plus a height band per tile.
"""
import os.path as osp
from typing import List, Optional, Sequence

import mmengine
import mmengine.fileio as fileio

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS
from .isprs_classes import ISPRS_CLASSES, ISPRS_PALETTE

# Band names that denote the height file (``dsm_path``) rather than a band
# of the optical file. Potsdam's is usually the normalised DSM.
HEIGHT_BANDS = ('DSM', 'nDSM')


@DATASETS.register_module()
class ISPRSMultiBandDataset(BaseSegDataset):
    """An ISPRS data set converted by ``tools/dataset_converters``.

    Each sample joins three files of the same name (see
    ``docs/data_preparation.md``)::

        {data_root}/{img_path}/{name}.tif      (H, W, C) optical bands
        {data_root}/{dsm_path}/{name}.tif      (H, W) heights
        {data_root}/{seg_map_path}/{name}.png  (H, W) class index, 255 ignored

    ``bands`` chooses what the model receives, in order: names of the
    optical file's bands (``METAINFO['file_bands']``) and at most one height
    band ('DSM' or 'nDSM', read from ``dsm_path``). Each sample's info
    carries ``band_names``, ``file_band_names``, ``band_indices`` and
    ``num_classes``, from which :class:`LoadMultiBandImageFromFile` and
    :class:`LoadISPRSAnnotations` check every file they read.

    Which reference is evaluated is chosen by ``seg_map_path``:
    ``ann_eroded_dir/...`` (ISPRS convention, boundaries ignored) or
    ``ann_dir/...`` (full reference).

    Args:
        bands (Sequence[str], optional): Bands given to the model, in
            order. Defaults to all optical bands followed by the subclass's
            height band (``DEFAULT_BANDS``).
        img_suffix (str): Optical file suffix. Defaults to '.tif'.
        dsm_suffix (str): Height file suffix. Defaults to '.tif'.
        seg_map_suffix (str): Label file suffix. Defaults to '.png'.
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
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        if kwargs.get('reduce_zero_label'):
            raise ValueError(
                f'{type(self).__name__}: reduce_zero_label=True would turn '
                'class 0 (impervious surfaces) into the ignore index; ISPRS '
                'label maps written by the converters need False')
        self.bands = tuple(bands if bands is not None else self.DEFAULT_BANDS)
        self.dsm_suffix = dsm_suffix
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

    def load_data_list(self) -> List[dict]:
        """One info dict per image of ``data_prefix['img_path']`` (or per
        name listed in ``ann_file``).

        Raises:
            FileNotFoundError: No image found, or a height or label file
                is missing (all missing files are listed).
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
                info['seg_map_path'] = osp.join(ann_dir,
                                                name + self.seg_map_suffix)
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
        return data_list
