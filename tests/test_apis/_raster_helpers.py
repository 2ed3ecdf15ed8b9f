"""Helpers of the inference tests: GeoTIFFs with a real CRS (UTM 33N) and
transform, a tiny LANet config."""
import pytest

rasterio = pytest.importorskip('rasterio')
from rasterio.crs import CRS  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402

UTM33 = CRS.from_epsg(32633)
TRANSFORM = from_origin(368000.0, 5808000.0, 0.05, 0.05)


def write_geotiff(path, array, crs=UTM33, transform=TRANSFORM, nodata=None,
                  descriptions=None, **profile):
    """Write (C, H, W) or (H, W) as a GeoTIFF (with band descriptions and
    GDAL creation options ``profile``, e.g. ``tiled=True``)."""
    array = array[None] if array.ndim == 2 else array
    count, height, width = array.shape
    with rasterio.open(str(path), 'w', driver='GTiff', height=height,
                       width=width, count=count, dtype=array.dtype, crs=crs,
                       transform=transform, nodata=nodata, **profile) as ds:
        ds.write(array)
        for band, text in enumerate(descriptions or (), start=1):
            ds.set_band_description(band, text)
    return str(path)


def write_vrt_mosaic(folder, name, array, split):
    """Cut (C, H, W) into four GeoTIFF tiles at ``split = (row, col)`` and
    write the GDAL VRT mosaic of them, as GIS tools deliver a city; returns
    the VRT's path."""
    from rasterio.windows import Window, transform as window_transform
    array = array[None] if array.ndim == 2 else array
    count, height, width = array.shape
    data_type = dict(uint8='Byte', float32='Float32')[array.dtype.name]
    sources = {band: [] for band in range(1, count + 1)}
    for rows in ((0, split[0]), (split[0], height)):
        for cols in ((0, split[1]), (split[1], width)):
            h, w = rows[1] - rows[0], cols[1] - cols[0]
            tile = f'{name}_{rows[0]}_{cols[0]}.tif'
            write_geotiff(
                folder / tile,
                array[:, rows[0]:rows[1], cols[0]:cols[1]].copy(),
                transform=window_transform(
                    Window(cols[0], rows[0], w, h), TRANSFORM))
            for band in sources:
                sources[band].append(
                    f'<SimpleSource><SourceFilename relativeToVRT="1">{tile}'
                    f'</SourceFilename><SourceBand>{band}</SourceBand>'
                    f'<SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>'
                    f'<DstRect xOff="{cols[0]}" yOff="{rows[0]}" '
                    f'xSize="{w}" ySize="{h}"/></SimpleSource>')
    bands = ''.join(
        f'<VRTRasterBand dataType="{data_type}" band="{band}">'
        f'{"".join(parts)}</VRTRasterBand>'
        for band, parts in sources.items())
    geo = ', '.join(map(str, TRANSFORM.to_gdal()))
    path = folder / f'{name}.vrt'
    path.write_text(
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">'
        f'<SRS>{UTM33.to_wkt()}</SRS><GeoTransform>{geo}</GeoTransform>'
        f'{bands}</VRTDataset>')
    return str(path)


def synthetic_scene(height, width, seed):
    """A synthetic scene: (4, H, W) uint8 R-G-B-NIR image, (H, W) DSM and
    labels."""
    import numpy as np
    from mmseg_lanet.datasets.synthetic import generate_scene, terrain_dsm
    rng = np.random.default_rng(seed)
    scene = generate_scene(height, width, rng)
    return dict(image=scene.reflectance.transpose(2, 0, 1).copy(),
                dsm=terrain_dsm(scene, 35., rng), labels=scene.labels)


def read_back(path):
    """(bands, profile, crs, transform) of a written raster."""
    with rasterio.open(path) as ds:
        return ds.read(), ds.profile, ds.crs, ds.transform


def tiny_config(num_classes=6):
    """The tool tests' tiny LANet (sample config, 8-channel stem)."""
    from benchmarks.predict_benchmark import _config
    cfg = _config('tiny')
    cfg.model.decode_head.num_classes = num_classes
    return cfg

