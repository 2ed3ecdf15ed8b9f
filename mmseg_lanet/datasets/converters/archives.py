"""Finding and reading tile files inside the official zip archives."""
import os.path as osp
import posixpath
import zipfile
from typing import Dict, List

import numpy as np

from ..raster_io import decode_raster
from .layout import MemberSpec


def _in_folder(member: str, folder: str) -> bool:
    """Whether a member sits in ``folder`` (possibly below a top folder that
    a re-packed archive added); '' means at the archive's root."""
    parent = posixpath.dirname(member)
    if not folder:
        return parent == ''
    return parent == folder or parent.endswith('/' + folder)


class ArchiveSet:
    """The zip archives of one download folder, opened on demand.

    Members are read straight from the archives, without extracting them.

    Args:
        archive_dir (str): Folder holding the downloaded ``*.zip`` files.
    """

    def __init__(self, archive_dir: str) -> None:
        if not osp.isdir(archive_dir):
            raise FileNotFoundError(
                f'archive folder not found: {archive_dir}')
        self.archive_dir = archive_dir
        self._zips: Dict[str, zipfile.ZipFile] = {}

    def path(self, archive: str) -> str:
        return osp.join(self.archive_dir, archive)

    def has(self, archive: str) -> bool:
        """Whether the archive was downloaded into the folder."""
        return osp.isfile(self.path(archive))

    def _open(self, archive: str) -> zipfile.ZipFile:
        if archive not in self._zips:
            if not self.has(archive):
                raise FileNotFoundError(
                    f'archive not found: {self.path(archive)}')
            try:
                self._zips[archive] = zipfile.ZipFile(self.path(archive))
            except zipfile.BadZipFile as err:
                raise ValueError(
                    f'{self.path(archive)}: not a valid zip file ({err})'
                ) from err
        return self._zips[archive]

    def find(self, spec: MemberSpec) -> Dict[str, str]:
        """Map each tile found in ``spec.archive`` to its member path.

        Matching is on the file name, wherever the member sits, so that an
        archive re-packed with or without its top folder still works. When
        several members name the same tile (Vaihingen's image archive has
        ``top/`` and ``gts_for_participants/`` files of the same name), the
        one in the official folder is taken.

        Returns:
            dict[str, str]: Canonical tile id -> member path.
        """
        pattern = spec.name_pattern()
        candidates: Dict[str, List[str]] = {}
        for member in self._open(spec.archive).namelist():
            match = pattern.fullmatch(posixpath.basename(member))
            if match and not member.endswith('/'):
                tile = spec.parse_tile(match.group('tile'))
                candidates.setdefault(tile, []).append(member)
        found = {}
        for tile, members in candidates.items():
            if len(members) > 1:
                members = [m for m in members if _in_folder(m, spec.folder)]
            if len(members) != 1:
                raise ValueError(
                    f'{self.path(spec.archive)}: cannot tell which member '
                    f'holds tile {tile}: {candidates[tile]}')
            found[tile] = members[0]
        return found

    def read(self, spec: MemberSpec, member: str) -> np.ndarray:
        """Decode one member and check its band count.

        Returns:
            np.ndarray: (H, W) for single-band specs, else (H, W, C).
        """
        name = f'{self.path(spec.archive)}:{member}'
        array = decode_raster(self._open(spec.archive).read(member), name)
        if (spec.num_bands == 1 and array.ndim == 3
                and (array == array[..., :1]).all()):
            # A grey image stored with identical colour channels (e.g. an
            # RGB JPEG of the nDSM): one band, nothing lost.
            array = array[..., 0]
        bands = 1 if array.ndim == 2 else array.shape[2]
        if bands != spec.num_bands:
            raise ValueError(f'{name}: has {bands} band(s), expected '
                             f'{spec.num_bands}')
        return array

    def close(self) -> None:
        for zf in self._zips.values():
            zf.close()
        self._zips.clear()

    def __enter__(self) -> 'ArchiveSet':
        return self

    def __exit__(self, *exc) -> None:
        self.close()
