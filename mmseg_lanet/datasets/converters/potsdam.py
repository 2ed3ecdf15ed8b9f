"""ISPRS Potsdam: the official archive layout.

Archives (as downloaded from ISPRS), one tile id ``{r}_{c}`` such as 2_10:

- ``4_Ortho_RGBIR.zip``: ``4_Ortho_RGBIR/top_potsdam_{r}_{c}_RGBIR.tif``
  (uint8, bands R, G, B, NIR), or both ``2_Ortho_RGB.zip``
  (``2_Ortho_RGB/top_potsdam_{r}_{c}_RGB.tif``) and ``3_Ortho_IRRG.zip``
  (``3_Ortho_IRRG/top_potsdam_{r}_{c}_IRRG.tif``, bands NIR, R, G; its NIR
  band completes the RGB file).
- ``1_DSM_normalisation.zip``:
  ``1_DSM_normalisation/dsm_potsdam_{rr}_{cc}_normalized_lastools.jpg``
  (normalised DSM, height above ground, 8-bit; row and column zero-padded),
  or ``1_DSM.zip``: ``1_DSM/dsm_potsdam_{rr}_{cc}.tif`` (float32 absolute
  heights).
- ``5_Labels_all.zip``: ``top_potsdam_{r}_{c}_label.tif`` (RGB colours).
- ``5_Labels_all_noBoundary.zip``:
  ``top_potsdam_{r}_{c}_label_noBoundary.tif`` (boundaries in black).

Official split: 24 training tiles, 14 test tiles (written as ``val``).
"""
from .layout import BandSource, DatasetLayout, MemberSpec

POTSDAM_VAL_TILES = ('2_13', '2_14', '3_13', '3_14', '4_13', '4_14', '4_15',
                     '5_13', '5_14', '5_15', '6_13', '6_14', '6_15', '7_13')
POTSDAM_TRAIN_TILES = ('2_10', '2_11', '2_12', '3_10', '3_11', '3_12',
                       '4_10', '4_11', '4_12', '5_10', '5_11', '5_12', '6_7',
                       '6_8', '6_9', '6_10', '6_11', '6_12', '7_7', '7_8',
                       '7_9', '7_10', '7_11', '7_12')

_TILE = r'\d{1,2}_\d{1,2}'


def canonical_tile(name: str) -> str:
    """'02_10' or '2_10' -> '2_10' (the DSM files zero-pad row and column).
    """
    row, col = name.split('_')
    return f'{int(row)}_{int(col)}'


def padded_tile(tile: str) -> str:
    """'2_10' -> '02_10', the DSM files' spelling."""
    row, col = tile.split('_')
    return f'{int(row):02d}_{int(col):02d}'


def _tile_spec(archive: str, template: str, num_bands: int = 1,
               format_tile=str) -> MemberSpec:
    return MemberSpec(archive, template, _TILE, num_bands=num_bands,
                      parse_tile=canonical_tile, format_tile=format_tile)


RGBIR = _tile_spec('4_Ortho_RGBIR.zip',
                   '4_Ortho_RGBIR/top_potsdam_{tile}_RGBIR.tif', 4)
RGB = _tile_spec('2_Ortho_RGB.zip', '2_Ortho_RGB/top_potsdam_{tile}_RGB.tif',
                 3)
IRRG = _tile_spec('3_Ortho_IRRG.zip',
                  '3_Ortho_IRRG/top_potsdam_{tile}_IRRG.tif', 3)
NDSM = _tile_spec(
    '1_DSM_normalisation.zip',
    '1_DSM_normalisation/dsm_potsdam_{tile}_normalized_lastools.jpg',
    format_tile=padded_tile)
DSM = _tile_spec('1_DSM.zip', '1_DSM/dsm_potsdam_{tile}.tif',
                 format_tile=padded_tile)
LABELS = _tile_spec('5_Labels_all.zip', 'top_potsdam_{tile}_label.tif', 3)
ERODED_LABELS = _tile_spec('5_Labels_all_noBoundary.zip',
                           'top_potsdam_{tile}_label_noBoundary.tif', 3)

POTSDAM_LAYOUT = DatasetLayout(
    name='potsdam',
    band_names=('R', 'G', 'B', 'NIR'),
    optical=(
        (BandSource(RGBIR, (0, 1, 2, 3)), ),
        (BandSource(RGB, (0, 1, 2)), BandSource(IRRG, (0, ))),
    ),
    dsm=dict(ndsm=NDSM, dsm=DSM),
    labels=LABELS,
    eroded_labels=ERODED_LABELS,
    train_tiles=POTSDAM_TRAIN_TILES,
    val_tiles=POTSDAM_VAL_TILES,
    notes=dict(
        ndsm='normalised DSM (height above ground, 8-bit lastools JPEG)',
        dsm='DSM (absolute heights, float32)'),
)
