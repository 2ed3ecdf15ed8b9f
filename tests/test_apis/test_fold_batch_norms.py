"""Batch norms folded into their convolutions for inference
(``fold_batch_norms``, ``PredictOptions(fold_norms=True)``,
``tools/predict.py --fuse-conv-bn``)."""
import os.path as osp

import numpy as np
import pytest
import torch
from torch import nn

from _raster_helpers import read_back, tiny_config
from mmseg_lanet.apis import (PredictOptions, RasterInferencer,
                              fold_batch_norms, load_segmentor)
from benchmarks.predict_benchmark import MODELS, REPO
from mmseg_lanet.apis.segmentor_loading import count_batch_norms
from mmseg_lanet.apis.predict_cli import predict

BOUNDED = dict(window=(64, 64), stride=(48, 48), batch_size=3,
               mode='bounded', quicklook=False, probabilities=True)


@pytest.fixture(scope='module')
def trained_like_checkpoint(tiny_checkpoint, tmp_path_factory):
    """The tiny LANet with batch-norm statistics and affine parameters far
    from their initial values (which fold into almost nothing)."""
    state = torch.load(tiny_checkpoint, weights_only=False)['state_dict']
    generator = torch.Generator().manual_seed(3)
    norms = [k[:-len('running_var')] for k in state
             if k.endswith('running_var')]
    for prefix in norms:
        for name, low, high in (('running_mean', -0.5, 0.5),
                                ('running_var', 0.3, 3.),
                                ('weight', 0.5, 1.5), ('bias', -0.5, 0.5)):
            state[prefix + name].uniform_(low, high, generator=generator)
    path = tmp_path_factory.mktemp('ckpt') / 'bn.pth'
    torch.save(dict(state_dict=state, meta={}), str(path))
    return str(path)


def test_folding_keeps_the_logits(trained_like_checkpoint):
    model = load_segmentor(tiny_config(), trained_like_checkpoint)
    folded = load_segmentor(tiny_config(), trained_like_checkpoint,
                            fold_norms=True)
    assert count_batch_norms(model) > 10 and count_batch_norms(folded) == 0
    # The stem's first convolution took its norm's scale.
    assert not torch.allclose(model.backbone.stem[0].weight,
                              folded.backbone.stem[0].weight)
    images = torch.randn(2, 5, 96, 80, generator=torch.Generator()
                         .manual_seed(1))
    metas = [dict(img_shape=(96, 80))] * 2
    with torch.no_grad():
        expected = model.encode_decode(images, metas)
        actual = folded.encode_decode(images, metas)
    assert expected.abs().max() > 0.1
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-4)
    # The count it returns is what it folded.
    again = load_segmentor(tiny_config(), trained_like_checkpoint)
    assert fold_batch_norms(again, bands=5) == count_batch_norms(model)


class NormBeforeConv(nn.Module):
    """A conv registered before the norm that in fact runs first: the
    order mmcv's pairing assumes does not hold."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.bn.running_mean.uniform_(-1, 1)
        self.bn.running_var.uniform_(0.2, 4)
        self.eval()

    def encode_decode(self, x, metas):
        return self.conv(self.bn(x))


def test_a_norm_not_after_its_convolution_is_refused():
    with pytest.raises(ValueError, match=(
            r'folding batch norms into convolutions changed the logits by '
            r'\S+ \(largest \S+\): a norm of this model does not follow the '
            r'convolution registered before it; predict without folding')):
        fold_batch_norms(NormBeforeConv(), bands=4)


def test_predict_with_folded_norms_gives_the_same_map(
        trained_like_checkpoint, rasters, tmp_path):
    maps = {}
    for fold in (False, True):
        inferencer = RasterInferencer(
            tiny_config(), trained_like_checkpoint,
            options=PredictOptions(fold_norms=fold, **BOUNDED))
        assert (count_batch_norms(inferencer.model) == 0) == fold
        out = inferencer(rasters['image'], str(tmp_path / str(fold)),
                         rasters['dsm'], progress=False)[0]
        maps[fold] = (read_back(out['paths']['labels'])[0][0],
                      read_back(out['paths']['probabilities'])[0])
    assert (maps[True][0] == maps[False][0]).mean() > 0.999
    assert np.abs(maps[True][1].astype(int) - maps[False][1]).max() <= 1


def test_predict_tool_flag(trained_like_checkpoint, rasters, tmp_path,
                           monkeypatch):
    """``--fuse-conv-bn`` reaches the inferencer's options."""
    seen = {}
    init = RasterInferencer.__init__

    def spy(self, model, weights, device='cpu', options=None):
        seen['fold_norms'] = options.fold_norms
        init(self, model, weights, device, options)

    monkeypatch.setattr(RasterInferencer, '__init__', spy)
    config = osp.join(REPO, MODELS['tiny']['config'])
    options = [f'{key}={value}'.replace(' ', '')
               for key, value in MODELS['tiny']['options'].items()]
    results = predict([
        config, trained_like_checkpoint, rasters['image'], '--dsm',
        rasters['dsm'], '--out-dir', str(tmp_path / 'maps'), '--device',
        'cpu', '--mode', 'whole', '--no-quicklook', '--fuse-conv-bn',
        '--cfg-options', *options
    ])
    assert seen == dict(fold_norms=True)
    assert results[0]['status'] != 'skipped'


def test_predict_tool_names_the_config_when_folding_fails(
        trained_like_checkpoint, rasters, tmp_path, monkeypatch, capsys):
    """A fold that changes the logits stops tools/predict.py with one line
    naming the config."""
    from mmseg_lanet.apis import segmentor_loading

    def wrong_fold(model):
        with torch.no_grad():
            model.backbone.stem[0].weight.mul_(2)

    monkeypatch.setattr(segmentor_loading, 'fuse_conv_bn', wrong_fold)
    config = osp.join(REPO, MODELS['tiny']['config'])
    options = [f'{key}={value}'.replace(' ', '')
               for key, value in MODELS['tiny']['options'].items()]
    with pytest.raises(SystemExit) as exit_info:
        predict([
            config, trained_like_checkpoint, rasters['image'], '--dsm',
            rasters['dsm'], '--out-dir', str(tmp_path / 'maps'), '--device',
            'cpu', '--fuse-conv-bn', '--cfg-options', *options
        ])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    # (The program's name is pytest's here.)
    assert err.split(': ', 1)[1].startswith(
        f'error: {config}: folding batch norms into convolutions changed '
        'the logits by ')
    assert not (tmp_path / 'maps').exists()
