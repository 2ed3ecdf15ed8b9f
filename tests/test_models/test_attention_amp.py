"""LANet's attention under autocast: the patch spreading is a plain copy
(fp32 results bit for bit as before), PAM/AEM keep the autocast type and
cost no full-size crop where patches fit, and the head casts its inputs
once rather than its weights at every convolution."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmseg.registry import MODELS
from mmseg_lanet.models import AttentionEmbedding, PatchAttention
from mmseg_lanet.models.layers.patch_pooling import spread_patches

LANET = osp.join(
    osp.dirname(__file__), '..', '..', 'configs', 'lanet',
    'lanet_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512.py')


def repeat_and_crop(attention, size, kernel):
    """The former spreading: two repeat_interleave copies and a crop."""
    spread = torch.repeat_interleave(attention, kernel[0], dim=2)
    spread = torch.repeat_interleave(spread, kernel[1], dim=3)
    return spread[..., :size[0], :size[1]]


@pytest.mark.parametrize('size, kernel', [
    ((8, 12), (4, 4)),
    ((128, 128), (20, 20)),
    ((13, 17), (5, 3)),
    ((1, 1), (1, 1)),
])
def test_spread_equals_repeat_and_crop_with_gradients(size, kernel):
    torch.manual_seed(0)
    grid = (-(-size[0] // kernel[0]), -(-size[1] // kernel[1]))
    attention = torch.rand(2, 3, *grid, requires_grad=True)
    expected = repeat_and_crop(attention, size, kernel)
    out = spread_patches(attention, size, kernel)
    assert out.shape == (2, 3, *size)
    assert torch.equal(out, expected)
    weights = torch.randn_like(out)
    grad, = torch.autograd.grad((out * weights).sum(), attention)
    expected_grad, = torch.autograd.grad((expected * weights).sum(),
                                         attention)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-6, atol=1e-6)


def count_ops(fn):
    with torch.profiler.profile() as prof:
        fn()
    return {e.name for e in prof.events()}


def test_no_crop_where_patches_fit():
    attention = torch.rand(1, 2, 4, 4, requires_grad=True)
    ops = count_ops(
        lambda: spread_patches(attention, (16, 16), (4, 4)).sum().backward())
    assert 'aten::slice' not in ops and 'aten::slice_backward' not in ops
    assert 'aten::repeat_interleave' not in ops


@pytest.mark.parametrize('module, args', [
    (PatchAttention(16, reduction=4, window=4), (torch.randn(2, 16, 10, 9), )),
    (AttentionEmbedding(16, 8, reduction=4, window=4),
     (torch.randn(2, 16, 6, 6), torch.randn(2, 8, 24, 24))),
])
def test_autocast_keeps_the_lower_precision(module, args):
    """Under CPU autocast (bfloat16) the output stays bfloat16: no op of
    PAM/AEM runs in float32 or promotes the features back to it."""
    module.eval()
    with torch.no_grad():
        fp32 = module(*args)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            low = module(*(a.bfloat16() for a in args))
    assert fp32.dtype == torch.float32 and low.dtype == torch.bfloat16
    torch.testing.assert_close(low.float(), fp32, rtol=0.05, atol=0.05)


def _casts(head, feats):
    """Input shapes of the dtype conversions of a forward and backward
    pass under CPU autocast, and the output."""
    with torch.profiler.profile(record_shapes=True) as prof:
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = head(feats)
        out.sum().backward()
    return [tuple(e.input_shapes[0]) for e in prof.events()
            if e.name == 'aten::_to_copy'], out


@pytest.mark.parametrize('float32_under_amp', [False, True])
def test_lanet_head_under_autocast(float32_under_amp):
    """Under autocast the head either follows it (each convolution casts
    its weights, forward and backward) or, by default, runs in float32 on
    its two inputs cast once: far fewer conversions, outputs nearer the
    float32 head's."""
    cfg = Config.fromfile(LANET).model.decode_head
    cfg.norm_cfg = dict(type='BN')
    cfg.float32_under_amp = float32_under_amp
    head = MODELS.build(cfg).eval()
    torch.manual_seed(0)
    feats = [torch.randn(1, 256, 32, 32), None, None,
             torch.randn(1, 2048, 4, 4)]
    low_feats = [f if f is None else f.bfloat16().requires_grad_()
                 for f in feats]
    with torch.no_grad():
        fp32 = head(feats)
    casts, low = _casts(head, low_feats)
    assert fp32.shape == low.shape == (1, 6, 32, 32)
    weights = {tuple(p.shape) for p in head.parameters()}
    inputs = {(1, 256, 32, 32), (1, 2048, 4, 4)}
    if float32_under_amp:
        assert low.dtype == torch.float32
        # The two inputs forward, their gradients back; no weight.
        assert sorted(casts) == sorted(2 * list(inputs))
        torch.testing.assert_close(low, fp32, rtol=0.02, atol=0.02)
    else:
        assert low.dtype == torch.bfloat16
        # The weights and their gradients are cast; of the activations only
        # the gradient of one patch-spread attention map.
        activations = [s for s in casts if s not in weights]
        assert len(casts) - len(activations) >= 20
        assert activations == [(1, 64, 2, 20, 2, 20)]
        torch.testing.assert_close(low.float(), fp32, rtol=0.05, atol=0.05)


def test_lanet_head_on_a_device_without_autocast():
    """The autocast check must not fail where autocast does not exist:
    shape inference on the 'meta' device (no memory, no arithmetic)."""
    head = MODELS.build(Config.fromfile(LANET).model.decode_head).to('meta')
    feats = [torch.empty(2, 256, 40, 48, device='meta'), None, None,
             torch.empty(2, 2048, 5, 6, device='meta')]
    out = head(feats)
    assert out.device.type == 'meta' and out.shape == (2, 6, 40, 48)
