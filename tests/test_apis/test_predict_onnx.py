"""The same raster through the PyTorch segmentor and through its ONNX
export run by onnxruntime: one engine, the same maps."""
import numpy as np
import pytest

pytest.importorskip('onnxruntime')
pytest.importorskip('onnx')
import torch  # noqa: E402
from _onnx_models import metadata  # noqa: E402
from _raster_helpers import read_back  # noqa: E402

from mmseg_lanet.apis import (InputSpec, PredictOptions,  # noqa: E402
                              predict_raster)
from mmseg_lanet.inference.onnx_predict import OnnxSegmentor  # noqa: E402

BOUNDED = dict(mode='bounded', window=(64, 64), stride=(48, 48),
               batch_size=3, quicklook=False, probabilities=True)


@pytest.fixture(scope='module')
def tiny_onnx(tiny_checkpoint, tmp_path_factory):
    """The tiny LANet exported by tools/deployment/export_onnx.py's
    function, for 64 x 64 windows."""
    from _raster_helpers import tiny_config
    from mmseg_lanet.deploy.export import export_onnx
    path = str(tmp_path_factory.mktemp('onnx') / 'tiny.onnx')
    export_onnx(tiny_config(), tiny_checkpoint, path, shape=(64, 64),
                check_sizes=[(64, 64)], log=lambda *args: None)
    return path


def test_onnx_and_pytorch_maps_agree(tiny_model, tiny_onnx, rasters,
                                     tmp_path):
    outputs = {}
    for name, model in (('torch', tiny_model),
                        ('onnx', OnnxSegmentor(tiny_onnx, threads=1))):
        result = predict_raster(model, rasters['image'], str(tmp_path / name),
                                rasters['dsm'], PredictOptions(**BOUNDED))
        assert result['status'] == 'done' and result['predicted'] == 9
        outputs[name] = [read_back(result['paths'][key])
                         for key in ('labels', 'probabilities')]
    (labels, profile, crs, transform), (probs, _, _, _) = outputs['onnx']
    (ref_labels, ref_profile, _, _), (ref_probs, _, _, _) = outputs['torch']
    assert (crs, transform) == (ref_profile['crs'], ref_profile['transform'])
    assert labels.shape == ref_labels.shape == (1, 150, 130)
    assert (labels == ref_labels).mean() >= 0.999
    assert np.abs(probs.astype(int) - ref_probs).max() <= 1


def test_fixed_size_graph_refuses_other_windows(tiny_onnx, rasters, tmp_path):
    """Whole mode on a graph exported for 64 x 64 windows: one line naming
    the file, nothing under a final name."""
    out = tmp_path / 'maps'
    with pytest.raises(ValueError) as err:
        predict_raster(OnnxSegmentor(tiny_onnx), rasters['image'], str(out),
                       rasters['dsm'], PredictOptions(mode='whole'))
    assert str(err.value) == (
        f'{tiny_onnx}: takes windows of 64 x 64 only (exported with a fixed '
        'size), not 150 x 130; predict in windows of that size (--window 64 '
        '64, --mode bounded) or export it with dynamic sizes')
    assert [p.name for p in out.iterdir() if not p.name.startswith('.')
            ] == []


class _PerTileHeights(torch.nn.Module):
    """Raw R, G, B, NIR and heights normalised per tile from the graph's
    second input, then a convolution (the exporter's contract)."""

    def __init__(self, conv, mean, std, then):
        super().__init__()
        self.conv, self.then = conv, then
        self.register_buffer('mean', torch.tensor(mean)[:, None, None])
        self.register_buffer('std', torch.tensor(std)[:, None, None])

    def forward(self, bands, height_stats):
        optical = (bands[:, :4] - self.mean) / self.std
        heights = (bands[:, 4:] - height_stats[0]) / height_stats[1]
        heights = (heights - self.then[0]) / self.then[1]
        return self.conv(torch.cat([optical, heights], 1))


def test_per_tile_heights_take_the_rasters_statistics(rasters, scene,
                                                      tmp_path):
    """A graph normalising heights per tile gets the raster's height
    statistics; raw windows through it equal normalised windows through
    the PyTorch convolution, nodata pixels included."""
    from _onnx_models import conv_model
    from _raster_helpers import write_geotiff
    from mmseg_lanet.apis import RasterInput
    mean, std = [112.9, 132.86, 93.52, 152.34], [34.91, 31.19, 37.64, 44.59]
    conv = conv_model(bands=5, classes=6)
    bands = ('R', 'G', 'B', 'NIR', 'nDSM')
    path = tmp_path / 'per_tile.onnx'
    with torch.no_grad():
        torch.onnx.export(
            _PerTileHeights(conv, mean, std, (0.5, 2.)).eval(),
            (torch.zeros(1, 5, 32, 32), torch.tensor([1., 1.])), str(path),
            input_names=['bands', 'height_stats'], output_names=['logits'],
            dynamic_axes=dict(bands={0: 'n', 2: 'h', 3: 'w'},
                              logits={0: 'n', 2: 'h', 3: 'w'}),
            opset_version=17, dynamo=False)
    import onnx
    import json
    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, {'mmseg_lanet': json.dumps(metadata(
        bands, mean + [None], std + [None], 6,
        ndsm=dict(band='nDSM', mode='per_tile', min_std=1.0, then_mean=0.5,
                  then_std=2.)))})
    onnx.save(model, str(path))
    onnx_model = OnnxSegmentor(str(path), threads=1)
    raw_spec = onnx_model.input_spec()
    assert (raw_spec.raw, raw_spec.dsm_mode, raw_spec.mean[4]) == (
        True, 'per_tile', 0.5)
    dsm = scene['dsm'].copy()
    dsm[:10, :20] = -9999  # nodata, normalised to 0 on both paths
    dsm_path = write_geotiff(tmp_path / 'dsm.tif', dsm, nodata=-9999)
    normalised_spec = InputSpec(bands, mean + [0.5], std + [2.], 'per_tile')
    whole = (0, 0, 150, 130)
    raw = RasterInput(raw_spec, rasters['image'], dsm=dsm_path)
    normalised = RasterInput(normalised_spec, rasters['image'], dsm=dsm_path)
    assert raw.dsm_stats == normalised.dsm_stats
    windows, valid = raw.read(whole)
    probs = onnx_model.predictor(source=raw)(windows[None])[0]
    reference, ref_valid = normalised.read(whole)
    raw.close()
    normalised.close()
    np.testing.assert_array_equal(valid, ref_valid)
    assert not valid[:10, :20].any() and valid.mean() > 0.9
    with torch.no_grad():
        expected = conv(torch.from_numpy(reference[None])).softmax(1)[0]
    np.testing.assert_allclose(probs, expected.numpy(), atol=1e-5)
