"""ONNX export of LANet and of every comparison head at any input size,
against PyTorch (models shrunk, CPU), and the checker's refusals."""
import os
import os.path as osp

import numpy as np
import onnxruntime as ort
import pytest
import torch
from mmengine.config import Config

from mmseg_lanet.deploy import read_metadata
from mmseg_lanet.deploy.cli import export
from mmseg_lanet.deploy.export import export_onnx
from mmseg_lanet.models.complexity import build_segmentor
from test_models._small_models import shrink_model

ROOT = osp.join(osp.dirname(__file__), '..', '..')
POTSDAM = '_1xb8-80k_potsdam-rgbir-dsm-512x512.py'
VAIHINGEN = '_1xb8-80k_vaihingen-irrg-dsm-512x512.py'
# LANet (paper's form, on both data sets: global and per-tile heights), as
# the authors' code builds it, and every comparison head.
CONFIGS = [f'lanet/lanet_r50-d32{POTSDAM}', f'lanet/lanet_r50-d16{VAIHINGEN}',
           f'lanet/lanet-authors_r50-d32{POTSDAM}'] + [
               f'compare/{head}_r50-d32{POTSDAM}'
               for head in ('danet', 'deeplabv3plus', 'fcn-bam', 'fcn-cbam',
                            'fcn-glore', 'fcn-se', 'pspnet')
           ]
# Batch 2, one size not a multiple of 32.
SIZES = [(64, 64), (72, 100)]
# Labels equal on 99.9 % of the pixels (the tool's default is 99.99 %):
# a random tiny model has pixels whose top two logits nearly tie, where
# float rounding may flip the label.
AGREEMENT = 0.999


def tiny_checkpoint(config: str, folder) -> tuple:
    """The config's model shrunk, its batch norms given the statistics of
    random inputs (so that logits vary over pixels and classes), saved as
    a checkpoint. Returns (config, checkpoint path, model)."""
    cfg = shrink_model(Config.fromfile(osp.join(ROOT, 'configs', config)))
    torch.manual_seed(0)
    model = build_segmentor(cfg)
    for layer in model.modules():
        if isinstance(layer, torch.nn.modules.batchnorm._BatchNorm):
            layer.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        model._forward(torch.randn(4, len(cfg.model.backbone.band_names),
                                   64, 64))
    model.eval()
    path = str(folder / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return cfg, path, model


def pytorch_logits(model, cfg, raw: np.ndarray, heights=None) -> np.ndarray:
    """PyTorch's logits of raw bands, normalised from the config's values
    (written out here, independently of the exporter)."""
    x = torch.from_numpy(raw.copy())
    step = next(s for s in cfg.test_pipeline if s['type'] == 'NormalizeDSM')
    mean, std = heights or (step['mean'], step['std'])
    x[:, -1] = (x[:, -1] - mean) / std
    pre = cfg.model.data_preprocessor
    x = (x - torch.tensor(pre.mean)[:, None, None]) / torch.tensor(
        pre.std)[:, None, None]
    metas = [dict(img_shape=raw.shape[2:])] * len(raw)
    with torch.no_grad():
        return model.encode_decode(x, metas).numpy()


# LANet's two data sets have tests of their own below.
@pytest.mark.parametrize(
    'config', CONFIGS[2:], ids=lambda c: c.split('_')[0])
def test_exports_at_any_size(config, tmp_path):
    cfg, checkpoint, _ = tiny_checkpoint(config, tmp_path)
    out = str(tmp_path / 'model.onnx')
    metadata = export_onnx(cfg, checkpoint, out, check_sizes=SIZES,
                           batch_size=2, min_agreement=AGREEMENT,
                           log=lambda line: None)
    assert [c['size'] for c in metadata['checks']] == [[64, 64], [72, 100]]
    for check in metadata['checks']:
        assert check['batch_size'] == 2
        assert check['max_logit_diff'] <= 1e-4 * max(1, check['max_logit'])
        assert check['label_agreement'] >= AGREEMENT
    shape = ort.InferenceSession(out).get_inputs()[0].shape
    assert shape == ['batch', len(metadata['bands']), 'height', 'width']


def test_lanet_export_matches_pytorch_and_carries_metadata(tmp_path, capsys):
    cfg, checkpoint, model = tiny_checkpoint(CONFIGS[0], tmp_path)
    config = str(tmp_path / osp.basename(CONFIGS[0]))
    cfg.dump(config)  # the shrunk model, under the config's name
    out = str(tmp_path / 'lanet.onnx')
    written = export([
        config, checkpoint, '--out', out,
        '--check-sizes', '64', '72x100', '--check-batch-size', '2',
        '--min-agreement', str(100 * AGREEMENT)
    ])
    printed = capsys.readouterr().out
    assert 'check 72 x 100 (batch 2): max logit difference' in printed
    assert f'wrote {out}' in printed
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(out).st_mode & 0o777 == 0o666 & ~umask  # not private
    assert sorted(os.listdir(tmp_path)) == [
        'lanet.onnx', 'lanet_r50-d32' + POTSDAM, 'tiny.pth'
    ]
    # What the file carries, read back without torch's help.
    metadata = read_metadata(out)
    assert metadata == written
    assert metadata['bands'] == ['R', 'G', 'B', 'NIR', 'nDSM']
    # nDSM: NormalizeDSM's global 47 +- 55 folded into the raw statistics.
    assert metadata['mean'] == [85.8, 91.7, 84.9, 96.6, 47.0]
    assert metadata['std'] == [35.8, 35.2, 36.5, 37.0, 55.0]
    assert metadata['ndsm'] == dict(band='nDSM', mode='global', mean=47.0,
                                    std=55.0, then_mean=0.0, then_std=1.0)
    assert metadata['classes'][1] == 'building'
    assert metadata['palette'][1] == [0, 0, 255]
    assert (metadata['num_classes'], metadata['test_mode'],
            metadata['window'], metadata['stride']) == (6, 'whole',
                                                        [512, 512], None)
    assert (metadata['format_version'], metadata['opset'],
            metadata['input_size'], metadata['output_size']) == (1, 17,
                                                                 'dynamic',
                                                                 'input')
    assert metadata['config'] == CONFIGS[0][6:-3]
    # A third size, a batch of 3, raw values as a raster stores them.
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 256, (3, 5, 40, 88)).astype(np.float32)
    raw[:, 4] = rng.uniform(0, 30, (3, 40, 88))
    (logits, ) = ort.InferenceSession(out).run(None, dict(bands=raw))
    expected = pytorch_logits(model, cfg, raw)
    np.testing.assert_allclose(logits, expected, rtol=0,
                               atol=1e-4 * np.abs(expected).max())
    # A nodata pixel given its band's raw mean enters the network as 0.
    session = ort.InferenceSession(out)
    mean = np.array(metadata['mean'], np.float32)[None, :, None, None]
    filled = np.broadcast_to(mean, (1, 5, 32, 32)).copy()
    with torch.no_grad():
        expected = model.encode_decode(
            torch.zeros(1, 5, 32, 32), [dict(img_shape=(32, 32))]).numpy()
    np.testing.assert_allclose(
        session.run(None, dict(bands=filled))[0], expected, rtol=0,
        atol=1e-4 * np.abs(expected).max())


def test_per_tile_heights_are_an_input(tmp_path):
    cfg, checkpoint, model = tiny_checkpoint(CONFIGS[1], tmp_path)
    out = str(tmp_path / 'vaihingen.onnx')
    # Opset 11, MMDeploy's: the traced sizes take no integer Clip or Min.
    metadata = export_onnx(cfg, checkpoint, out, opset=11, check_sizes=SIZES,
                           batch_size=2, min_agreement=AGREEMENT,
                           log=lambda line: None)
    assert [c['size'] for c in metadata['checks']] == [[64, 64], [72, 100]]
    assert metadata['opset'] == 11
    assert metadata['ndsm'] == dict(band='DSM', mode='per_tile',
                                    min_std=1.0, then_mean=0.0,
                                    then_std=1.0)
    assert metadata['mean'][3] is None and metadata['std'][3] is None
    session = ort.InferenceSession(out)
    assert [i.name for i in session.get_inputs()] == [
        'bands', 'height_stats'
    ]
    rng = np.random.default_rng(2)
    raw = rng.integers(0, 256, (2, 4, 48, 40)).astype(np.float32)
    raw[:, 3] = rng.uniform(250, 290, (2, 48, 40))  # absolute heights
    stats = np.array([270., 12.], np.float32)
    (logits, ) = session.run(None, dict(bands=raw, height_stats=stats))
    expected = pytorch_logits(model, cfg, raw, heights=(270., 12.))
    np.testing.assert_allclose(logits, expected, rtol=0,
                               atol=1e-4 * np.abs(expected).max())


def test_checker_refuses_and_leaves_no_file(tmp_path):
    cfg, checkpoint, _ = tiny_checkpoint(CONFIGS[-2], tmp_path)
    out = str(tmp_path / 'se.onnx')
    lines = []
    with pytest.raises(ValueError) as error:
        export_onnx(cfg, checkpoint, out, check_sizes=[(64, 64)],
                    max_diff=-1., log=lines.append)
    assert str(error.value).startswith(
        f'{out}: onnxruntime differs from PyTorch at 64 x 64: max logit '
        'difference ')
    assert str(error.value).endswith('; not written')
    assert lines[-1].startswith('check 64 x 64 (batch 1): max logit')
    assert sorted(os.listdir(tmp_path)) == ['tiny.pth']


def test_a_head_that_cannot_export_is_refused_naming_the_op(
        tmp_path, monkeypatch, capfd):
    """Without the exportable pooling, PSPNet's adaptive pooling of a
    symbolic size cannot be written."""
    import mmseg_lanet.deploy.export as export_module
    monkeypatch.setattr(export_module, 'make_traceable', lambda model: 0)
    cfg, checkpoint, _ = tiny_checkpoint(CONFIGS[-1], tmp_path)
    with pytest.raises(ValueError, match=r'pspnet_r50-d32_1xb8-80k_potsdam'
                       r'.*: cannot export to ONNX: operator '
                       r'adaptive_avg_pool2d \(Unsupported'):
        export_onnx(cfg, checkpoint, str(tmp_path / 'psp.onnx'),
                    check_sizes=[(64, 64)], log=lambda line: None)
    assert sorted(os.listdir(tmp_path)) == ['tiny.pth']
    # The exporter's dump of its graph does not bury the error.
    assert 'Torch IR graph' not in ''.join(capfd.readouterr())


def test_tool_errors_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as error:
        export(['nowhere.py', 'x.pth', '--out', str(tmp_path / 'a.onnx')])
    assert error.value.code == 2
    assert capsys.readouterr().err.endswith(
        'error: config file not found: nowhere.py\n')
    with pytest.raises(SystemExit):
        export([osp.join(ROOT, 'configs', CONFIGS[0]), 'x.pth', '--out',
                str(tmp_path / 'a.onnx'), '--check-sizes', '64x'])
    assert "a size is N or HxW with positive integers, got '64x'" in \
        capsys.readouterr().err
