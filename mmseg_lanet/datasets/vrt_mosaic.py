"""A GDAL virtual mosaic (VRT) of label maps: one layer for a whole region.

Maps predicted tile by tile (or by several processes) open in QGIS, ArcGIS
or any GDAL tool as one raster through a ``.vrt`` file: a few lines of XML
that place each map's pixels on a common grid and carry the colour table
(GDAL's format, https://gdal.org/drivers/raster/vrt.html). No pixel is
copied. The maps must share a CRS, a pixel size and a grid, as the tiles of
one orthophoto campaign do; maps in several CRSs (a country across UTM
zones) get no mosaic, and the reason names the first map that differs.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple
from xml.sax.saxutils import escape

from .georaster import has_rasterio
from .raster_io import _commit_partial, _partial_path

# A map whose origin lies further than this from the mosaic's grid (in
# pixels) would be shifted by resampling: it gets no mosaic.
GRID_TOLERANCE = 1e-3


class _Map:
    """What the mosaic needs of one map: size, georeference, colours."""

    def __init__(self, path: str) -> None:
        import rasterio
        with rasterio.open(path) as ds:
            self.path, self.width, self.height = path, ds.width, ds.height
            self.crs, self.transform = ds.crs, ds.transform
            self.dtype, self.nodata = ds.dtypes[0], ds.nodata
            self.block = ds.block_shapes[0]
            try:
                self.colormap = ds.colormap(1)
            except ValueError:  # no colour table
                self.colormap = None


def _check_mosaicable(maps: Sequence[_Map]) -> Optional[str]:
    """Why the maps cannot be placed on one grid, or None."""
    first = maps[0]
    for m in maps:
        if m.crs is None:
            return f'{m.path} has no georeference'
        t = m.transform
        if t.b != 0 or t.d != 0:
            return f'{m.path} is rotated (its transform is not north-up)'
        if m.crs != first.crs:
            return (f'{m.path} is in {m.crs} and {first.path} in '
                    f'{first.crs}')
        if (t.a, t.e) != (first.transform.a, first.transform.e):
            return (f'{m.path} has pixels of {t.a} x {-t.e} and '
                    f'{first.path} of {first.transform.a} x '
                    f'{-first.transform.e}')
        if m.dtype != first.dtype:
            return f'{m.path} is {m.dtype} and {first.path} {first.dtype}'
        for offset, size in ((t.c - first.transform.c, t.a),
                             (t.f - first.transform.f, t.e)):
            if abs(offset / size - round(offset / size)) > GRID_TOLERANCE:
                return f'{m.path} is off the grid of {first.path}'
    return None


def _placements(maps: Sequence[_Map]) -> Tuple[float, float, int, int,
                                               List[Tuple[int, int]]]:
    """The mosaic's origin and size, and each map's (column, row) in it."""
    a, e = maps[0].transform.a, maps[0].transform.e
    left = min(m.transform.c for m in maps)
    top = max(m.transform.f for m in maps) if e < 0 else min(
        m.transform.f for m in maps)
    offsets = [(round((m.transform.c - left) / a),
                round((m.transform.f - top) / e)) for m in maps]
    width = max(col + m.width for (col, _), m in zip(offsets, maps))
    height = max(row + m.height for (_, row), m in zip(offsets, maps))
    return left, top, width, height, offsets


def _colour_table(colormap: Dict[int, Sequence[int]]) -> List[str]:
    entries = [colormap.get(i, (0, 0, 0, 0)) for i in range(
        max(colormap) + 1)]
    return (['    <ColorTable>'] + [
        f'      <Entry c1="{r}" c2="{g}" c3="{b}" c4="{alpha}"/>'
        for r, g, b, alpha in entries
    ] + ['    </ColorTable>'])


def write_mosaic_vrt(paths: Sequence[str], vrt_path: str) -> Optional[str]:
    """Write a VRT mosaic of the one-band rasters ``paths``.

    A map drawn later covers an earlier one where they overlap, except at
    its nodata pixels. Source names are relative to the VRT, so the folder
    can move. The file is written under a temporary name and renamed.

    Args:
        paths (Sequence[str]): Label maps (GeoTIFFs), in drawing order.
        vrt_path (str): The ``.vrt`` file to write.

    Returns:
        str | None: None when written, else why not (no rasterio, no map,
        or maps that do not share a CRS, pixel size and grid).
    """
    if not has_rasterio():
        return 'rasterio is not installed (pip install mmseg-lanet[geo])'
    if not paths:
        return 'no map to index'
    maps = [_Map(p) for p in paths]
    reason = _check_mosaicable(maps)
    if reason is not None:
        return reason
    left, top, width, height, offsets = _placements(maps)
    first = maps[0]
    a, e = first.transform.a, first.transform.e
    data_type = {'uint8': 'Byte', 'uint16': 'UInt16', 'int16': 'Int16',
                 'float32': 'Float32'}[first.dtype]
    folder = osp.dirname(osp.abspath(vrt_path))
    lines = [
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">',
        f'  <SRS dataAxisToSRSAxisMapping="1,2">{escape(first.crs.to_wkt())}'
        '</SRS>',
        f'  <GeoTransform>{left!r}, {a!r}, 0.0, {top!r}, 0.0, {e!r}'
        '</GeoTransform>',
        f'  <VRTRasterBand dataType="{data_type}" band="1">',
    ]
    if first.nodata is not None:
        lines.append(f'    <NoDataValue>{first.nodata:g}</NoDataValue>')
    if first.colormap:
        lines.append('    <ColorInterp>Palette</ColorInterp>')
        lines += _colour_table(first.colormap)
    for m, (col, row) in zip(maps, offsets):
        source = osp.relpath(osp.abspath(m.path), folder)
        lines += [
            '    <ComplexSource>',
            f'      <SourceFilename relativeToVRT="1">{escape(source)}'
            '</SourceFilename>',
            '      <SourceBand>1</SourceBand>',
            f'      <SourceProperties RasterXSize="{m.width}" '
            f'RasterYSize="{m.height}" DataType="{data_type}" '
            f'BlockXSize="{m.block[1]}" BlockYSize="{m.block[0]}"/>',
            f'      <SrcRect xOff="0" yOff="0" xSize="{m.width}" '
            f'ySize="{m.height}"/>',
            f'      <DstRect xOff="{col}" yOff="{row}" xSize="{m.width}" '
            f'ySize="{m.height}"/>',
        ]
        if m.nodata is not None:
            lines.append(f'      <NODATA>{m.nodata:g}</NODATA>')
        lines.append('    </ComplexSource>')
    lines += ['  </VRTRasterBand>', '</VRTDataset>', '']
    partial = _partial_path(vrt_path)
    with open(partial, 'w') as f:
        f.write('\n'.join(lines))
    _commit_partial(partial, vrt_path)
    return None
