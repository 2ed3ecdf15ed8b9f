"""ISPRS Vaihingen: the official archive layout.

Archives (as downloaded from ISPRS), one tile id ``area{n}``:

- ``ISPRS_semantic_labeling_Vaihingen.zip``:
  ``top/top_mosaic_09cm_area{n}.tif`` (uint8, bands NIR, R, G) and
  ``dsm/dsm_09cm_matching_area{n}.tif`` (float32 absolute heights). Its
  ``gts_for_participants/`` folder (old training labels with the same file
  names as ``top/``) is not used.
- ``ISPRS_semantic_labeling_Vaihingen_ground_truth_COMPLETE.zip``:
  ``top_mosaic_09cm_area{n}.tif`` (RGB colours).
- ``ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE.zip``:
  ``top_mosaic_09cm_area{n}_noBoundary.tif`` (boundaries in black).

Official split: 16 training areas, 17 test areas (written as ``val``).
"""
from .layout import BandSource, DatasetLayout, MemberSpec

VAIHINGEN_TRAIN_TILES = tuple(f'area{n}' for n in (
    1, 3, 5, 7, 11, 13, 15, 17, 21, 23, 26, 28, 30, 32, 34, 37))
VAIHINGEN_VAL_TILES = tuple(f'area{n}' for n in (
    2, 4, 6, 8, 10, 12, 14, 16, 20, 22, 24, 27, 29, 31, 33, 35, 38))

_IMAGES = 'ISPRS_semantic_labeling_Vaihingen.zip'
_AREA = r'\d{1,2}'


def area_tile(number: str) -> str:
    """'1' -> 'area1'."""
    return f'area{int(number)}'


def area_number(tile: str) -> str:
    """'area1' -> '1'."""
    return tile[len('area'):]


def _area_spec(archive: str, template: str, num_bands: int = 1) -> MemberSpec:
    return MemberSpec(archive, template, _AREA, num_bands=num_bands,
                      parse_tile=area_tile, format_tile=area_number)


TOP = _area_spec(_IMAGES, 'top/top_mosaic_09cm_area{tile}.tif', num_bands=3)
DSM = _area_spec(_IMAGES, 'dsm/dsm_09cm_matching_area{tile}.tif')
LABELS = _area_spec(
    'ISPRS_semantic_labeling_Vaihingen_ground_truth_COMPLETE.zip',
    'top_mosaic_09cm_area{tile}.tif', num_bands=3)
ERODED_LABELS = _area_spec(
    'ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE.zip',
    'top_mosaic_09cm_area{tile}_noBoundary.tif', num_bands=3)

VAIHINGEN_LAYOUT = DatasetLayout(
    name='vaihingen',
    band_names=('NIR', 'R', 'G'),
    optical=((BandSource(TOP, (0, 1, 2)), ), ),
    dsm=dict(dsm=DSM),
    labels=LABELS,
    eroded_labels=ERODED_LABELS,
    train_tiles=VAIHINGEN_TRAIN_TILES,
    val_tiles=VAIHINGEN_VAL_TILES,
    notes=dict(dsm='DSM (absolute heights, float32)'),
)
