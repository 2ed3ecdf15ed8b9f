"""The same raster through the PyTorch segmentor and through its ONNX
export run by onnxruntime: one engine, the same maps."""
import numpy as np
import pytest

pytest.importorskip('onnxruntime')
pytest.importorskip('onnx')
import torch  # noqa: E402
from _onnx_models import RawBands, export_onnx, metadata  # noqa: E402
from _raster_helpers import read_back  # noqa: E402

from mmseg_lanet.apis import InputSpec, PredictOptions, predict_raster  # noqa: E402,E501
from mmseg_lanet.inference.onnx_predict import OnnxSegmentor  # noqa: E402
from mmseg_lanet.inference.torch_predict import segmentor_logits  # noqa: E402

BOUNDED = dict(mode='bounded', window=(64, 64), stride=(48, 48),
               batch_size=3, quicklook=False, probabilities=True)


class _Logits(torch.nn.Module):

    def __init__(self, segmentor):
        super().__init__()
        self.segmentor = segmentor

    def forward(self, windows):
        return segmentor_logits(self.segmentor)(windows)


def raw_statistics(spec: InputSpec):
    """Per-band mean and std of the raw bands: the config's, with
    NormalizeDSM's global statistics folded into the height band's."""
    mean, std = list(spec.mean), list(spec.std)
    if spec.dsm_mode == 'global':
        h = spec.height_index
        mean[h] = spec.dsm_mean + spec.dsm_std * mean[h]
        std[h] = spec.dsm_std * std[h]
    return mean, std


@pytest.fixture(scope='module')
def tiny_onnx(tiny_model, tmp_path_factory):
    spec = InputSpec.from_config(tiny_model.cfg)
    mean, std = raw_statistics(spec)
    path = tmp_path_factory.mktemp('onnx') / 'tiny.onnx'
    return export_onnx(
        path, RawBands(_Logits(tiny_model), mean, std),
        metadata(spec.bands, mean, std, 6,
                 ndsm=dict(mode='global', mean=spec.dsm_mean,
                           std=spec.dsm_std)),
        (2, len(spec.bands), 64, 64), dynamic=False)


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
