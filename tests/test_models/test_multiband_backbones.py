"""4- and 5-band stems initialised from a real 3-band checkpoint file."""
import pytest
import torch
from mmengine.runner import load_checkpoint

from mmseg.models.backbones import HRNet, ResNet
from mmseg_lanet.models import MultiBandHRNet, MultiBandResNet
from mmseg_lanet.models.backbones.rgb_stem import expand_rgb_filters

# The configs' mapping by band name, and what it means per data set.
BY_NAME = dict(R='R', G='G', B='B', NIR='R', DSM='mean', nDSM='mean')
POTSDAM = dict(
    band_names=('R', 'G', 'B', 'NIR', 'nDSM'),
    band_filters=('R', 'G', 'B', 'R', 'mean'))
VAIHINGEN = dict(
    band_names=('NIR', 'R', 'G', 'DSM'),
    band_filters=('R', 'R', 'G', 'mean'))
TINY_HRNET = dict(
    stage1=dict(
        num_modules=1,
        num_branches=1,
        block='BOTTLENECK',
        num_blocks=(1, ),
        num_channels=(8, )),
    stage2=dict(
        num_modules=1,
        num_branches=2,
        block='BASIC',
        num_blocks=(1, 1),
        num_channels=(4, 8)),
    stage3=dict(
        num_modules=1,
        num_branches=3,
        block='BASIC',
        num_blocks=(1, 1, 1),
        num_channels=(4, 8, 16)),
    stage4=dict(
        num_modules=1,
        num_branches=4,
        block='BASIC',
        num_blocks=(1, 1, 1, 1),
        num_channels=(4, 8, 16, 32)))


def save_rgb_checkpoint(model, path):
    torch.save({'state_dict': model.state_dict()}, path)
    return str(path)


def test_expand_rgb_filters_mapping_and_scale():
    rgb = torch.randn(4, 3, 3, 3)
    out = expand_rgb_filters(rgb, ('B', 'mean', 'zero', 'R'), rescale=True)
    scale = 3 / 3  # three non-zero bands
    torch.testing.assert_close(out[:, 0], rgb[:, 2] * scale)
    torch.testing.assert_close(out[:, 1], rgb.mean(1) * scale)
    assert not out[:, 2].any()
    torch.testing.assert_close(out[:, 3], rgb[:, 0] * scale)
    out = expand_rgb_filters(rgb, POTSDAM['band_filters'], rescale=True)
    torch.testing.assert_close(out[:, 3], rgb[:, 0] * 3 / 5)
    out = expand_rgb_filters(rgb, POTSDAM['band_filters'], rescale=False)
    torch.testing.assert_close(out[:, :3], rgb)


@pytest.mark.parametrize('by_name', [False, True])
@pytest.mark.parametrize('deep_stem, bands', [(False, POTSDAM),
                                              (True, VAIHINGEN)])
def test_resnet_stem_from_a_saved_rgb_checkpoint(tmp_path, deep_stem, bands,
                                                 by_name):
    torch.manual_seed(0)
    rgb_model = ResNet(depth=18, deep_stem=deep_stem)
    path = save_rgb_checkpoint(rgb_model, tmp_path / 'rgb.pth')
    model = MultiBandResNet(
        depth=18,
        deep_stem=deep_stem,
        init_cfg=dict(type='Pretrained', checkpoint=path),
        band_names=bands['band_names'],
        band_filters=BY_NAME if by_name else bands['band_filters'])
    model.init_weights()
    stem = 'stem.0.weight' if deep_stem else 'conv1.weight'
    rgb_state, state = rgb_model.state_dict(), model.state_dict()
    n = len(bands['band_filters'])
    assert state[stem].shape[1] == n
    # Each band holds the pretrained filter the mapping names, scaled 3 / n.
    source = {'R': 0, 'G': 1, 'B': 2}
    for band, name in enumerate(bands['band_filters']):
        expected = (rgb_state[stem].mean(1) if name == 'mean' else
                    rgb_state[stem][:, source[name]]) * 3 / n
        torch.testing.assert_close(state[stem][:, band], expected)
    for key in rgb_state:
        if key != stem:
            torch.testing.assert_close(state[key], rgb_state[key])


def test_segmentor_checkpoint_with_prefix(tmp_path):
    """A full RGB segmentor checkpoint (keys 'backbone.*') loads too."""
    torch.manual_seed(0)
    rgb = torch.nn.Module()
    rgb.backbone = ResNet(depth=18)
    path = save_rgb_checkpoint(rgb, tmp_path / 'segmentor.pth')
    model = torch.nn.Module()
    model.backbone = MultiBandResNet(depth=18, **POTSDAM)
    load_checkpoint(model, path, strict=True)
    torch.testing.assert_close(model.backbone.conv1.weight[:, 2],
                               rgb.backbone.conv1.weight[:, 2] * 3 / 5)


def test_checkpoint_with_the_same_band_count_loads_unchanged(tmp_path):
    torch.manual_seed(0)
    source = MultiBandResNet(depth=18, **POTSDAM)
    path = save_rgb_checkpoint(source, tmp_path / 'five.pth')
    model = MultiBandResNet(depth=18, **POTSDAM)
    load_checkpoint(model, path, strict=True)
    torch.testing.assert_close(model.conv1.weight, source.conv1.weight)


def test_hrnet_stem_from_a_saved_rgb_checkpoint(tmp_path):
    torch.manual_seed(0)
    rgb_model = HRNet(extra=TINY_HRNET)
    path = save_rgb_checkpoint(rgb_model, tmp_path / 'hrnet.pth')
    model = MultiBandHRNet(
        extra=TINY_HRNET,
        init_cfg=dict(type='Pretrained', checkpoint=path),
        **VAIHINGEN)
    model.init_weights()
    expected = expand_rgb_filters(rgb_model.conv1.weight,
                                  VAIHINGEN['band_filters'])
    torch.testing.assert_close(model.conv1.weight, expected)
    torch.testing.assert_close(model.conv1.weight[:, 1],
                               rgb_model.conv1.weight[:, 0] * 3 / 4)
    model.eval()  # one value per channel at stride 32
    outs = model(torch.randn(1, 4, 32, 32))
    assert [o.shape[1:] for o in outs] == [(4, 8, 8), (8, 4, 4), (16, 2, 2),
                                           (32, 1, 1)]


@pytest.mark.parametrize('backbone, kwargs', [
    (MultiBandResNet, dict(depth=18)),
    (MultiBandHRNet, dict(extra=TINY_HRNET)),
])
def test_wrong_band_count_is_named(backbone, kwargs):
    model = backbone(**POTSDAM, **kwargs)
    with pytest.raises(ValueError, match=r"expects input of shape \(N, 5, H, "
                       r"W\) with bands \('R', 'G', 'B', 'NIR', 'nDSM'\), got "
                       r'\(1, 4, 32, 32\)'):
        model(torch.randn(1, 4, 32, 32))


@pytest.mark.parametrize('kwargs, match', [
    (dict(in_channels=4, **POTSDAM), 'in_channels=4 does not match the 5'),
    (dict(band_filters=('R', 'NIR')), "entries must be in \\('R', 'G', 'B', "
     "'mean', 'zero'\\), got \\['NIR'\\]"),
    (dict(band_filters=('R', 'G'), band_names=('R', )),
     'must have one entry per input band'),
    (dict(band_filters=()), 'one filter per input band'),
    (dict(band_filters=BY_NAME), 'band_filters given by band name need '
     'band_names'),
    (dict(band_filters=dict(R='R'), band_names=('R', 'NIR')),
     "no entry for band\\(s\\) \\['NIR'\\]"),
])
def test_bad_band_mapping_is_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultiBandResNet(depth=18, **kwargs)
