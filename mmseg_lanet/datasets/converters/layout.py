"""Description of an official ISPRS archive layout.

A layout names, for one data set, the files a user downloads (zip archives)
and, inside them, the member file of each tile for every role: optical bands,
DSM, full and eroded labels. The converter (:mod:`.convert`) is written once
against this description; :mod:`.potsdam` and :mod:`.vaihingen` only fill it
in. The synthetic sample generator writes archives from the same description.
"""
import posixpath
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Sequence, Tuple


def _same_tile(tile: str) -> str:
    return tile


@dataclass(frozen=True)
class MemberSpec:
    """One kind of tile file inside an archive.

    Args:
        archive (str): Archive file name, e.g. ``'4_Ortho_RGBIR.zip'``.
        template (str): Member path with a ``{tile}`` field, e.g.
            ``'4_Ortho_RGBIR/top_potsdam_{tile}_RGBIR.tif'``. Only the file
            name must match; the folder is used to choose between members of
            the same name (Vaihingen's ``top/`` and ``gts_for_participants/``).
        tile_regex (str): What ``{tile}`` matches in a member name.
        num_bands (int): Bands expected in each file (1: single band).
        parse_tile (callable): Member tile field -> canonical tile id.
        format_tile (callable): Canonical tile id -> member tile field.
    """
    archive: str
    template: str
    tile_regex: str
    num_bands: int = 1
    parse_tile: Callable[[str], str] = _same_tile
    format_tile: Callable[[str], str] = _same_tile

    @property
    def folder(self) -> str:
        """The folder of the member in the official archive ('' at root)."""
        return posixpath.dirname(self.template)

    def name_pattern(self) -> 're.Pattern':
        """Regular expression matching the member's file name."""
        before, after = posixpath.basename(self.template).split('{tile}')
        return re.compile(f'{re.escape(before)}(?P<tile>{self.tile_regex})'
                          f'{re.escape(after)}')

    def member(self, tile: str) -> str:
        """The official member path of a tile."""
        return self.template.format(tile=self.format_tile(tile))


@dataclass(frozen=True)
class BandSource:
    """Bands taken from one kind of member.

    Args:
        spec (MemberSpec): Where the file is.
        bands (tuple[int]): Indices of the bands kept, in output order.
    """
    spec: MemberSpec
    bands: Tuple[int, ...]


@dataclass(frozen=True)
class DatasetLayout:
    """Everything the converter needs to know about one data set.

    Args:
        name (str): Data set name, e.g. ``'potsdam'``.
        band_names (tuple[str]): Names of the optical output bands, in order.
        optical (Sequence[Sequence[BandSource]]): Ways to assemble the
            optical bands, in order of preference; each way lists sources
            whose bands are concatenated. The first way whose archives are
            all present is used.
        dsm (dict[str, MemberSpec]): Height sources by name, in order of
            preference (e.g. ``{'ndsm': ..., 'dsm': ...}``).
        labels (MemberSpec): Full reference, colour coded.
        eroded_labels (MemberSpec): Eroded reference (boundary in black).
        train_tiles (tuple[str]): Official training tiles.
        val_tiles (tuple[str]): Official test tiles (written as ``val``).
        notes (dict[str, str]): Per-DSM-source description for the summary.
    """
    name: str
    band_names: Tuple[str, ...]
    optical: Sequence[Sequence[BandSource]]
    dsm: Dict[str, MemberSpec]
    labels: MemberSpec
    eroded_labels: MemberSpec
    train_tiles: Tuple[str, ...]
    val_tiles: Tuple[str, ...]
    notes: Dict[str, str] = field(default_factory=dict)

    def split_of(self, tile: str) -> Optional[str]:
        """'train', 'val' or None for a tile in neither official list."""
        if tile in self.train_tiles:
            return 'train'
        if tile in self.val_tiles:
            return 'val'
        return None
