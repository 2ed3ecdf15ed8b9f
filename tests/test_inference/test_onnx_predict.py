"""OnnxSegmentor: an exported model run by onnxruntime, numpy in and out;
a file without our metadata or that onnxruntime cannot run is refused in
one line naming it."""
import numpy as np
import pytest

pytest.importorskip('onnxruntime')
pytest.importorskip('onnx')
torch = pytest.importorskip('torch')

from _onnx_models import (conv_model, export_onnx, metadata,  # noqa: E402
                          raw_bands_model)

from mmseg_lanet.inference.onnx_predict import OnnxSegmentor  # noqa: E402

BANDS = ('R', 'G', 'B', 'NIR')
MEAN, STD = (100., 90., 80., 120.), (50., 40., 30., 60.)


@pytest.fixture(scope='module')
def conv_onnx(tmp_path_factory):
    folder = tmp_path_factory.mktemp('onnx')
    module = conv_model()
    path = export_onnx(folder / 'conv.onnx',
                       raw_bands_model(module, MEAN, STD),
                       metadata(BANDS, MEAN, STD, 3, classes=['a', 'b', 'c'],
                                palette=[[1, 2, 3], [4, 5, 6], [7, 8, 9]]),
                       (1, 4, 16, 16))
    return path, module


def test_probabilities_match_torch_with_and_without_flips(conv_onnx):
    path, module = conv_onnx
    model = OnnxSegmentor(path, threads=1)
    assert model.num_classes == 3 and model.device is None
    assert model.class_names() == ('a', 'b', 'c')
    assert model.palette == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    rng = np.random.default_rng(0)
    # Another size than the export's, and a batch of 3.
    raw = rng.uniform(0, 255, (3, 4, 20, 27)).astype(np.float32)
    normalised = torch.from_numpy(
        (raw - np.float32(MEAN)[:, None, None]) /
        np.float32(STD)[:, None, None])
    with torch.no_grad():
        expected = module(normalised).softmax(1).numpy()
        flipped = (expected +
                   module(normalised.flip(3)).flip(3).softmax(1).numpy() +
                   module(normalised.flip(2)).flip(2).softmax(1).numpy()) / 3
    probs = model.predictor()(raw)
    assert isinstance(probs, np.ndarray) and probs.dtype == np.float32
    np.testing.assert_allclose(probs, expected, atol=2e-6)
    np.testing.assert_allclose(model.predictor(flip=True)(raw), flipped,
                               atol=2e-6)
    assert np.abs(flipped - expected).max() > 1e-3  # not flip-invariant


def test_spec_is_raw_bands_from_metadata(conv_onnx):
    spec = OnnxSegmentor(conv_onnx[0]).input_spec()
    assert (spec.bands, spec.mean, spec.std, spec.raw, spec.dsm_mode) == (
        BANDS, list(MEAN), list(STD), True, None)


def test_options_of_pytorch_are_refused(conv_onnx):
    from mmseg_lanet.apis import PredictOptions
    model = OnnxSegmentor(conv_onnx[0])
    with pytest.raises(ValueError, match=r'conv\.onnx: amp, channels_last '
                       'apply to PyTorch models, not to an ONNX model'):
        model.predictor(PredictOptions(amp=True, channels_last=True))


def test_model_without_our_metadata_is_refused(tmp_path):
    path = export_onnx(tmp_path / 'someone_else.onnx', conv_model(), None,
                       (1, 4, 8, 8))
    with pytest.raises(ValueError) as err:
        OnnxSegmentor(path)
    assert str(err.value) == (
        f'{path}: an ONNX model without mmseg_lanet metadata (not exported '
        'by tools/deployment/export_onnx.py); metadata keys: none')


def test_opset_onnxruntime_cannot_run_is_refused(tmp_path):
    import onnx
    import onnxruntime
    path = export_onnx(tmp_path / 'future.onnx', conv_model(),
                       metadata(BANDS, MEAN, STD, 3), (1, 4, 8, 8))
    model = onnx.load(path)
    model.opset_import[0].version = 99
    onnx.save(model, path)
    with pytest.raises(ValueError) as err:
        OnnxSegmentor(path)
    message = str(err.value)
    assert message.startswith(
        f'{path}: onnxruntime {onnxruntime.__version__} cannot load this '
        'model: ') and '\n' not in message
    assert 'opset' in message.lower()
    garbage = tmp_path / 'garbage.onnx'
    garbage.write_bytes(b'not a model')
    with pytest.raises(ValueError, match=r'garbage\.onnx: not an ONNX '
                       'model'):
        OnnxSegmentor(str(garbage))
    with pytest.raises(FileNotFoundError, match='ONNX model not found: '):
        OnnxSegmentor(str(tmp_path / 'missing.onnx'))
