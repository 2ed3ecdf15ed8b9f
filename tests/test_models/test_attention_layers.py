"""PAM and AEM against references written from the paper's equations."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmseg_lanet.models import AttentionEmbedding, PatchAttention


def patch_means(x, hp, wp):
    """Eq. (1) for every patch, laid out from the top-left corner; a partial
    last patch averages the pixels it contains (zero padding is not
    counted)."""
    n, c, h, w = x.shape
    nh, nw = math.ceil(h / hp), math.ceil(w / wp)
    pad = (0, nw * wp - w, 0, nh * hp - h)
    sums = F.pad(x, pad).reshape(n, c, nh, hp, nw, wp).sum(dim=(3, 5))
    counts = F.pad(torch.ones(1, 1, h, w), pad).reshape(1, 1, nh, hp, nw,
                                                        wp).sum(dim=(3, 5))
    return sums / counts


def bottleneck(z, gate):
    """sigma(H_i delta(H_r z)) of eq. (2)/(4), as explicit matrix products."""
    w_r = gate.reduce.conv.weight[:, :, 0, 0]
    w_i = gate.expand.weight[:, :, 0, 0]
    hidden = torch.einsum('oc,nchw->nohw', w_r, z) + \
        gate.reduce.conv.bias[None, :, None, None]
    hidden = hidden.clamp_min(0)
    return torch.sigmoid(
        torch.einsum('oc,nchw->nohw', w_i, hidden) +
        gate.expand.bias[None, :, None, None])


def spread(a, source_size, target_size, hp, wp):
    """F_U: a target pixel takes the vector of the patch holding the source
    pixel it maps to (nearest: y -> floor(y * H_s / H_t))."""
    rows = torch.arange(target_size[0]) * source_size[0] // target_size[0]
    cols = torch.arange(target_size[1]) * source_size[1] // target_size[1]
    return a[:, :, rows // hp][:, :, :, cols // wp]


def reference_pam(x, pam, hp, wp):
    a = bottleneck(patch_means(x, hp, wp), pam.gate)
    attention = spread(a, x.shape[-2:], x.shape[-2:], hp, wp)
    return x + x * attention


def reference_aem(high, low, aem, hp, wp):
    a = bottleneck(patch_means(high, hp, wp), aem.gate)
    attention = spread(a, high.shape[-2:], low.shape[-2:], hp, wp)
    return low + low * attention


@pytest.mark.parametrize('size, window', [
    ((8, 12), 4),
    ((3, 5), 4),
    ((1, 1), 4),
    ((13, 17), (5, 3)),
    ((6, 6), 20),
])
def test_pam_matches_equations(size, window):
    torch.manual_seed(0)
    hp, wp = (window, window) if isinstance(window, int) else window
    pam = PatchAttention(8, reduction=4, window=window).eval()
    x = torch.randn(2, 8, *size)
    out = pam(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, reference_pam(x, pam, hp, wp))


def test_pam_on_a_vaihingen_tile_sized_map():
    """1996 x 1995 is not a multiple of the window on either axis."""
    torch.manual_seed(0)
    pam = PatchAttention(3, reduction=1, window=20).eval()
    x = torch.randn(1, 3, 1996, 1995)
    with torch.no_grad():
        out = pam(x)
        expected = reference_pam(x, pam, 20, 20)
    assert out.shape == (1, 3, 1996, 1995)
    torch.testing.assert_close(out, expected)
    # The last partial patch (16 x 15 pixels) is its own mean, not diluted.
    last = x[..., 1980:, 1980:]
    corner = pam.gate.forward(x, x.shape[-2:])[..., -1, -1]
    torch.testing.assert_close(
        corner, bottleneck(last.mean(dim=(2, 3), keepdim=True),
                           pam.gate)[..., 0, 0])


def test_aem_on_a_vaihingen_tile_sized_map():
    torch.manual_seed(0)
    aem = AttentionEmbedding(4, 2, reduction=2, window=4).eval()
    high = torch.randn(1, 4, 63, 63)  # ceil(1996 / 32), ceil(1995 / 32)
    low = torch.randn(1, 2, 499, 499)  # ceil(1996 / 4), ceil(1995 / 4)
    with torch.no_grad():
        torch.testing.assert_close(
            aem(high, low), reference_aem(high, low, aem, 4, 4))


@pytest.mark.parametrize('high_size, low_size', [
    ((3, 5), (24, 40)),  # exact stride-8 ratio
    ((4, 6), (25, 41)),  # no integer ratio
    ((1, 1), (3, 5)),
    ((1, 1), (1, 1)),
])
def test_aem_matches_equations(high_size, low_size):
    torch.manual_seed(0)
    aem = AttentionEmbedding(16, 6, reduction=4, window=2).eval()
    high = torch.randn(2, 16, *high_size)
    low = torch.randn(2, 6, *low_size)
    out = aem(high, low)
    assert out.shape == low.shape
    torch.testing.assert_close(out, reference_aem(high, low, aem, 2, 2))


def constant_attention(module, value):
    """Make the gate output sigmoid(b) = value everywhere."""
    with torch.no_grad():
        module.gate.expand.weight.zero_()
        module.gate.expand.bias.fill_(math.log(value / (1 - value)))


@pytest.mark.parametrize('residual', [True, False])
def test_residual_forms(residual):
    torch.manual_seed(0)
    x = torch.randn(1, 4, 6, 7)
    pam = PatchAttention(4, reduction=2, window=3, residual=residual)
    aem = AttentionEmbedding(8, 4, reduction=2, window=3, residual=residual)
    constant_attention(pam, 0.25)
    constant_attention(aem, 0.25)
    scale = 1.25 if residual else 0.25
    torch.testing.assert_close(pam(x), x * scale)
    torch.testing.assert_close(aem(torch.randn(1, 8, 2, 2), x), x * scale)


@pytest.mark.parametrize('module, inputs', [
    (PatchAttention(8, reduction=2, window=3,
                    norm_cfg=dict(type='BN')), [(2, 8, 7, 5)]),
    (AttentionEmbedding(8, 4, reduction=2, window=2,
                        norm_cfg=dict(type='BN')), [(2, 8, 4, 3),
                                                    (2, 4, 16, 12)]),
    (PatchAttention(8, reduction=2, window=5, pool_mode='sliding',
                    upsample_mode='bilinear'), [(2, 8, 7, 5)]),
])
def test_gradient_reaches_every_parameter_and_input(module, inputs):
    torch.manual_seed(0)
    tensors = [torch.randn(*s, requires_grad=True) for s in inputs]
    module.train()
    module(*tensors).pow(2).sum().backward()
    for name, param in module.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    for tensor in tensors:
        assert tensor.grad.abs().sum() > 0


def test_batch_of_one_in_train_mode_with_batch_norm():
    torch.manual_seed(0)
    pam = PatchAttention(8, reduction=2, window=4, norm_cfg=dict(type='BN'))
    pam.train()
    # One descriptor per channel: normalised with the running statistics.
    x = torch.randn(1, 8, 3, 4)
    out = pam(x)
    assert pam.gate.reduce.norm.training
    torch.testing.assert_close(out, pam.eval()(x))
    # Several descriptors: batch statistics, as usual in training.
    x = torch.randn(1, 8, 8, 8)
    assert not torch.allclose(pam.train()(x), pam.eval()(x))


def test_authors_pooling_variants():
    torch.manual_seed(0)
    x = torch.randn(1, 4, 7, 9)
    adaptive = PatchAttention(4, reduction=2, window=20, pool_mode='adaptive')
    # H // 20 == 0: clamped to one descriptor, the mean of the map.
    constant_attention(adaptive, 0.5)
    torch.testing.assert_close(adaptive(x), 1.5 * x)
    sliding = AttentionEmbedding(
        4, 4, reduction=1, window=3, pool_mode='sliding', residual=False)
    with torch.no_grad():
        sliding.gate.reduce.conv.weight.copy_(torch.eye(4)[..., None, None])
        sliding.gate.reduce.conv.bias.zero_()
        sliding.gate.expand.weight.copy_(torch.eye(4)[..., None, None])
        sliding.gate.expand.bias.zero_()
    # Descriptor of pixel (0, 0): mean of its valid 2 x 2 neighbourhood.
    high = torch.rand(1, 4, 7, 9)
    attention = sliding(high, torch.ones(1, 4, 7, 9))
    torch.testing.assert_close(attention[..., 0, 0],
                               torch.sigmoid(high[..., :2, :2].mean((2, 3))))
    torch.testing.assert_close(attention[..., 3, 4],
                               torch.sigmoid(high[..., 2:5, 3:6].mean((2, 3))))


@pytest.mark.parametrize('upsample_mode', ['patch', 'bilinear'])
def test_adaptive_pooling_with_several_bins(upsample_mode):
    """The authors' adaptive pooling on a 9 x 13 map with window 4: 2 x 3
    bins, bin i spanning [floor(i L / n), ceil((i + 1) L / n)) (PyTorch's
    rule), so neighbouring bins overlap on these sizes."""
    torch.manual_seed(0)
    pam = PatchAttention(
        8, reduction=4, window=4, pool_mode='adaptive',
        upsample_mode=upsample_mode).eval()
    x = torch.randn(2, 8, 9, 13)
    rows = [(0, 5), (4, 9)]
    cols = [(0, 5), (4, 9), (8, 13)]
    z = torch.stack([
        torch.stack([x[..., r0:r1, c0:c1].mean((2, 3)) for c0, c1 in cols],
                    dim=-1) for r0, r1 in rows
    ], dim=-2)
    a = bottleneck(z, pam.gate)
    assert a.shape == (2, 8, 2, 3)
    if upsample_mode == 'bilinear':
        attention = F.interpolate(a, (9, 13), mode='bilinear')
    else:
        # A pixel takes a bin that holds it: rows 0-4 -> 0, 5-8 -> 1;
        # columns 0-4 -> 0, 5-8 -> 1, 9-12 -> 2.
        row_bin = torch.tensor([0] * 5 + [1] * 4)
        col_bin = torch.tensor([0] * 5 + [1] * 4 + [2] * 4)
        attention = a[:, :, row_bin][:, :, :, col_bin]
    torch.testing.assert_close(pam(x), x + x * attention)


def test_bilinear_upsampling_differs_from_patch_replication():
    torch.manual_seed(0)
    x = torch.randn(1, 4, 8, 8)
    patch = PatchAttention(4, reduction=2, window=4).eval()
    bilinear = PatchAttention(
        4, reduction=2, window=4, upsample_mode='bilinear').eval()
    bilinear.load_state_dict(patch.state_dict())
    a_patch = patch.gate(x, (8, 8))
    a_bilinear = bilinear.gate(x, (8, 8))
    # Replication is constant inside a patch, interpolation is not.
    assert torch.equal(a_patch[..., :4, :4],
                       a_patch[..., :1, :1].expand(-1, -1, 4, 4))
    assert not torch.allclose(a_bilinear[..., 0, 0], a_bilinear[..., 3, 3])


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(window=0), ValueError, 'window must be positive'),
    (dict(window=(4, -1)), ValueError, 'window must be positive'),
    (dict(window=2.5), TypeError, 'window must be an int or a pair'),
    (dict(window=4, pool_mode='sliding'), ValueError, 'needs an odd window'),
    (dict(pool_mode='max'), ValueError, 'pool_mode must be one of'),
    (dict(upsample_mode='nearest'), ValueError, 'upsample_mode must be one'),
    (dict(reduction=0), ValueError, 'reduction must be a positive int'),
])
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        PatchAttention(8, **kwargs)
    with pytest.raises(error, match=match):
        AttentionEmbedding(8, 4, **kwargs)


def test_aem_batch_mismatch():
    aem = AttentionEmbedding(4, 2, reduction=2)
    with pytest.raises(ValueError, match='same batch size, got 2 and 1'):
        aem(torch.randn(2, 4, 2, 2), torch.randn(1, 2, 8, 8))


@pytest.mark.parametrize('pool_mode', ['patch', 'adaptive', 'sliding'])
@pytest.mark.parametrize('upsample_mode', ['patch', 'bilinear'])
@pytest.mark.parametrize('size', [(1, 1), (3, 5)])
def test_every_mode_on_tiny_maps(pool_mode, upsample_mode, size):
    torch.manual_seed(0)
    modes = dict(pool_mode=pool_mode, upsample_mode=upsample_mode,
                 window=7 if pool_mode == 'sliding' else 20)
    pam = PatchAttention(4, reduction=2, **modes).eval()
    aem = AttentionEmbedding(4, 2, reduction=2, **modes).eval()
    x = torch.randn(1, 4, *size)
    low = torch.randn(1, 2, size[0] * 8, size[1] * 8)
    for out, ref in ((pam(x), x), (aem(x, low), low)):
        assert out.shape == ref.shape
        # A sigmoid gate on a residual path: X < X + X * A < 2X for X > 0.
        ratio = out / ref
        assert ((ratio > 1) & (ratio < 2)).all()


GATE_OPTIONS = dict(pool_mode='adaptive', upsample_mode='bilinear',
                    norm_cfg=dict(type='BN'), act_cfg=dict(type='GELU'),
                    align_corners=True, residual=False)


@pytest.mark.parametrize('module, args', [(PatchAttention, (8, )),
                                          (AttentionEmbedding, (8, 4))])
def test_every_option_is_in_the_signature_and_reaches_the_gate(module, args):
    import inspect
    signature = inspect.signature(module)
    assert not any(p.kind is p.VAR_KEYWORD
                   for p in signature.parameters.values())
    assert set(GATE_OPTIONS) | {'init_cfg'} <= set(signature.parameters)
    layer = module(*args, **GATE_OPTIONS)
    assert layer.gate.pool_mode == 'adaptive'
    assert layer.gate.upsample_mode == 'bilinear'
    assert layer.gate.align_corners is True
    assert isinstance(layer.gate.reduce.norm, torch.nn.BatchNorm2d)
    assert isinstance(layer.gate.reduce.activate, torch.nn.GELU)
    assert layer.residual is False
    with pytest.raises(TypeError, match="unexpected keyword argument "
                       "'pool_size'"):
        module(*args, pool_size=3)
