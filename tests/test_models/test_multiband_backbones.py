"""4- and 5-band stems initialised from a real 3-band checkpoint file."""
import pytest
import torch
from mmengine.runner import load_checkpoint, save_checkpoint
from mmengine.runner.checkpoint import get_state_dict, weights_to_cpu

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


IRRG = dict(band_names=('NIR', 'R', 'G'), band_filters=('R', 'R', 'G'))


@pytest.mark.parametrize('bands', [IRRG, VAIHINGEN, POTSDAM],
                         ids=['3-band', '4-band', '5-band'])
def test_own_state_dict_round_trip_is_bit_identical(bands):
    """A model that loads its own weights, whatever its band count, must not
    have its stem re-mapped as if it were an RGB checkpoint."""
    torch.manual_seed(0)
    source = MultiBandResNet(depth=18, **bands)
    model = MultiBandResNet(depth=18, **bands)
    model.load_state_dict(source.state_dict(), strict=True)
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


@pytest.mark.parametrize('bands', [IRRG, VAIHINGEN],
                         ids=['3-band', '4-band'])
def test_own_checkpoint_file_round_trip_is_bit_identical(tmp_path, bands):
    """The same through mmengine's save_checkpoint / load_checkpoint (what
    the Runner, ``load_from``, ``--resume`` and ``tools/test.py`` use),
    with the backbone inside a segmentor-like parent."""
    torch.manual_seed(0)
    source = torch.nn.Module()
    source.backbone = MultiBandResNet(depth=18, deep_stem=True, **bands)
    path = str(tmp_path / 'own.pth')
    # What Runner.save_checkpoint writes.
    save_checkpoint(
        dict(meta={}, state_dict=weights_to_cpu(get_state_dict(source))),
        path)
    model = torch.nn.Module()
    model.backbone = MultiBandResNet(depth=18, deep_stem=True, **bands)
    load_checkpoint(model, path, strict=True)
    assert torch.equal(model.backbone.stem[0].weight,
                       source.backbone.stem[0].weight)


def test_3band_non_rgb_model_still_expands_an_rgb_checkpoint(tmp_path):
    """A plain 3-band RGB checkpoint (no band record) is re-mapped into a
    (NIR, R, G) stem: NIR <- R, R <- R, G <- G (rescale 3 / 3)."""
    torch.manual_seed(0)
    rgb_model = ResNet(depth=18)
    path = save_rgb_checkpoint(rgb_model, tmp_path / 'rgb.pth')
    model = MultiBandResNet(depth=18, **IRRG)
    load_checkpoint(model, path, strict=True)
    rgb = rgb_model.conv1.weight
    torch.testing.assert_close(model.conv1.weight,
                               rgb[:, [0, 0, 1]])


def test_checkpoint_of_other_3_bands_loads_unchanged_with_a_warning():
    torch.manual_seed(0)
    source = MultiBandResNet(
        depth=18, band_names=('R', 'G', 'NIR'), band_filters=('R', 'G', 'R'))
    model = MultiBandResNet(depth=18, **IRRG)
    with pytest.warns(UserWarning, match=r"conv1.weight: the checkpoint's "
                      r"stem was saved for bands \('R', 'G', 'NIR'\), this "
                      r"model has \('NIR', 'R', 'G'\)"):
        model.load_state_dict(source.state_dict())
    assert torch.equal(model.conv1.weight, source.conv1.weight)


def test_old_multiband_checkpoint_without_band_record_loads_unchanged():
    """Checkpoints written before the band record (4 or 5 bands) have no
    metadata: their stems load as they are."""
    torch.manual_seed(0)
    source = MultiBandResNet(depth=18, **VAIHINGEN)
    old = dict(source.state_dict())  # a plain dict: no _metadata
    model = MultiBandResNet(depth=18, **VAIHINGEN)
    model.load_state_dict(old, strict=True)
    assert torch.equal(model.conv1.weight, source.conv1.weight)
