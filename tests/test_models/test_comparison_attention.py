"""SE, BAM, CBAM and GloRe blocks against references written from their
papers' equations, and the FCN head skeleton that carries them."""
import pytest
import torch
import torch.nn.functional as F

from mmseg.registry import MODELS
from mmseg_lanet.models import (BottleneckAttention, ConvolutionalAttention,
                                GlobalReasoning, SqueezeExcitation)

SIZES = [(5, 7), (1, 1), (8, 8)]


def linear(x, conv):
    """A 1x1 (or 1-d, kernel 1) convolution as a matrix product over the
    channel axis (axis 1)."""
    weight = conv.weight.reshape(conv.weight.shape[0], -1)
    out = torch.einsum('oc,nc...->no...', weight, x)
    if conv.bias is not None:
        out = out + conv.bias.reshape(1, -1, *([1] * (x.dim() - 2)))
    return out


def mlp(z, bottleneck):
    """W_1 ReLU(W_0 z + b_0) + b_1 of SE / BAM / CBAM."""
    return linear(linear(z, bottleneck[0].conv).clamp_min(0), bottleneck[1])


def batch_norm(x, bn):
    """BN in eval mode from its running statistics."""
    shape = (1, -1) + (1, ) * (x.dim() - 2)
    return (x - bn.running_mean.reshape(shape)) / torch.sqrt(
        bn.running_var.reshape(shape) + bn.eps) * bn.weight.reshape(shape) + \
        bn.bias.reshape(shape)


def randomise_norms(module):
    """Give every BN non-trivial statistics and affine parameters."""
    for m in module.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    return module.eval()


@pytest.mark.parametrize('size', SIZES)
def test_se_matches_equations(size):
    torch.manual_seed(0)
    se = SqueezeExcitation(16, reduction=4).eval()
    x = torch.randn(2, 16, *size)
    z = x.mean(dim=(2, 3), keepdim=True)  # eq. 2, squeeze
    s = torch.sigmoid(mlp(z, se.bottleneck))  # eq. 3, excitation
    out = se(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, x * s)  # eq. 4
    assert se.bottleneck[0].conv.out_channels == 4


@pytest.mark.parametrize('size', SIZES)
def test_bam_matches_equations(size):
    torch.manual_seed(0)
    bam = randomise_norms(BottleneckAttention(16, reduction=4, dilation=2))
    x = torch.randn(2, 16, *size)
    m_c = batch_norm(mlp(x.mean(dim=(2, 3), keepdim=True), bam.channel_mlp),
                     bam.channel_norm)
    f0, f1, f2, f3 = bam.spatial
    # f_0: 1x1 reduction, then norm and ReLU as the authors' SpatialGate.
    s = batch_norm(linear(x, f0.conv), f0.bn).clamp_min(0)
    for conv_module in (f1, f2):
        conv = conv_module.conv
        s = F.conv2d(s, conv.weight, conv.bias, padding=2, dilation=2)
        s = batch_norm(s, conv_module.bn).clamp_min(0)
    m_s = batch_norm(linear(s, f3), bam.spatial_norm)
    assert m_c.shape == (2, 16, 1, 1) and m_s.shape == (2, 1, *size)
    expected = x + x * torch.sigmoid(m_c + m_s)  # eq. 1-2, broadcast
    out = bam(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize('size', SIZES)
def test_cbam_matches_equations(size):
    torch.manual_seed(0)
    cbam = ConvolutionalAttention(16, reduction=4, kernel_size=3).eval()
    x = torch.randn(2, 16, *size)
    avg, mx = x.mean(dim=(2, 3), keepdim=True), x.amax(dim=(2, 3),
                                                        keepdim=True)
    m_c = torch.sigmoid(mlp(avg, cbam.channel_mlp) +
                        mlp(mx, cbam.channel_mlp))  # eq. 2, one shared MLP
    refined = x * m_c  # eq. 1
    pooled = torch.stack([refined.mean(dim=1), refined.amax(dim=1)], dim=1)
    m_s = torch.sigmoid(
        F.conv2d(pooled, cbam.spatial_conv.weight, cbam.spatial_conv.bias,
                 padding=1))  # eq. 3, on the channel-refined map
    out = cbam(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, refined * m_s)


@pytest.mark.parametrize('size', SIZES)
def test_glore_matches_equations(size):
    torch.manual_seed(0)
    glore = randomise_norms(GlobalReasoning(16, state_channels=6,
                                            num_nodes=3))
    x = torch.randn(2, 16, *size)
    flat = x.flatten(2)  # (n, C, L)
    b = linear(flat, glore.projection)  # (n, N, L)
    # The authors' normalize option: node features are a mean over L.
    v = linear(flat, glore.state) @ b.transpose(1, 2) / flat.shape[2]
    a_g = glore.adjacency.weight[:, :, 0]  # (N, N)
    laplacian_v = v - (v @ a_g.T + glore.adjacency.bias)  # (I - A_g) V
    z = glore.state_update.weight[:, :, 0] @ laplacian_v.clamp_min(0)
    y = (z @ b).reshape(2, 6, *size)  # reverse projection
    expected = x + batch_norm(linear(y, glore.extend), glore.norm)
    out = glore(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, expected)


def test_glore_output_does_not_grow_with_the_area():
    # Periodic content: every 3 x 5 block is the same, so a per-pixel
    # operation gives the same output for 1 block and for 8 x 8 blocks; a
    # sum over positions (no 1 / L) gives 64 times the node features.
    torch.manual_seed(0)
    glore = randomise_norms(GlobalReasoning(16))
    block = torch.randn(1, 16, 3, 5)
    small, large = glore(block), glore(block.repeat(1, 1, 8, 8))
    assert large.shape == (1, 16, 24, 40)
    torch.testing.assert_close(large, small.repeat(1, 1, 8, 8))
    assert not torch.allclose(small, block, atol=1e-3)  # the unit acts
    unnormalised = randomise_norms(GlobalReasoning(16, normalize=False))
    unnormalised.load_state_dict(glore.state_dict())
    growth = (unnormalised(block.repeat(1, 1, 8, 8))[..., :3, :5] -
              block).abs().max() / (unnormalised(block) - block).abs().max()
    assert growth > 10


def test_glore_starts_as_the_identity():
    # The last norm's scale is zero-initialised (the authors' "blocker"),
    # also after init_weights with a parent init_cfg setting norms to 1.
    glore = GlobalReasoning(
        16, init_cfg=dict(type='Constant', val=1, layer='_BatchNorm'))
    glore.init_weights()
    assert glore.norm.weight.abs().sum() == 0
    x = torch.randn(2, 16, 4, 6)
    torch.testing.assert_close(glore.eval()(x), x)


def test_glore_default_graph_size():
    glore = GlobalReasoning(128)
    assert (glore.state.out_channels, glore.projection.out_channels) == (64,
                                                                         32)


@pytest.mark.parametrize('cls, kwargs, message', [
    (SqueezeExcitation, dict(reduction=0),
     'reduction must be a positive int, got 0'),
    (BottleneckAttention, dict(dilation=0),
     'dilation must be a positive int, got 0'),
    (BottleneckAttention, dict(reduction=2.5),
     'reduction must be a positive int, got 2.5'),
    (ConvolutionalAttention, dict(kernel_size=4),
     'kernel_size must be a positive odd int, got 4'),
    (GlobalReasoning, dict(num_nodes=-1),
     'num_nodes must be a positive int, got -1'),
])
def test_bad_arguments(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(16, **kwargs)


HEAD_BLOCKS = {
    'SEHead': SqueezeExcitation,
    'BAMHead': BottleneckAttention,
    'CBAMHead': ConvolutionalAttention,
    'GloReHead': GlobalReasoning,
}


def head_cfg(type_, **kwargs):
    return dict(type=type_, in_channels=32, in_index=3, channels=16,
                num_classes=6, norm_cfg=dict(type='BN'), **kwargs)


@pytest.mark.parametrize('type_', HEAD_BLOCKS)
def test_head_is_fcn_plus_its_block(type_):
    torch.manual_seed(0)
    head = MODELS.build(head_cfg(type_)).eval()
    assert isinstance(head.attention, HEAD_BLOCKS[type_])
    feats = [torch.randn(2, 1, 4, 4)] * 3 + [torch.randn(2, 32, 5, 7)]
    out = head(feats)
    assert out.shape == (2, 6, 5, 7)
    reduced = head.reduce(feats[3])
    torch.testing.assert_close(
        out, head.conv_seg(head.attention(reduced)))


def test_head_without_block_is_the_fcn_row():
    torch.manual_seed(0)
    head = MODELS.build(head_cfg('AttentionFCNHead')).eval()
    assert head.attention is None
    feat = torch.randn(2, 32, 3, 3)
    torch.testing.assert_close(
        head([None, None, None, feat]), head.conv_seg(head.reduce(feat)))


def test_head_takes_the_block_options_and_one_level():
    head = MODELS.build(
        head_cfg('SEHead', attention=dict(type='SqueezeExcitation',
                                          reduction=8)))
    assert head.attention.bottleneck[0].conv.out_channels == 2
    with pytest.raises(ValueError, match=r'SEHead takes one feature level: '
                       r'an int in_channels, got \[16, 32\]'):
        MODELS.build(dict(head_cfg('SEHead'), in_channels=[16, 32],
                          in_index=[2, 3], input_transform='multiple_select'))


def test_named_head_without_block():
    head = MODELS.build(head_cfg('CBAMHead', attention=None))
    assert head.attention is None
