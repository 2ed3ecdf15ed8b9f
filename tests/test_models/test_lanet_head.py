"""LANetHead: ablation switches, fusion, branch losses, errors."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData

from mmseg.structures import SegDataSample
from mmseg_lanet.models import AttentionEmbedding, LANetHead, PatchAttention

NUM_CLASSES = 6
OFF = dict(high_pam=None, low_pam=None, aem=None)
# The rows of the paper's ablation tables I and II.
ROWS = {
    'fcn': dict(with_low_level=False, **OFF),
    'fcn-pam': dict(with_low_level=False, low_pam=None, aem=None),
    'fcn-lowfeat': dict(fusion='concat', **OFF),
    'fcn-lowfeat-2pam': dict(aem=None),
    'fcn-lowfeat-aem': dict(high_pam=None, low_pam=None),
    'lanet': dict(),
}


def make_head(**kwargs):
    cfg = dict(
        in_channels=(8, 16),
        in_index=(0, 1),
        channels=12,
        low_channels=6,
        num_classes=NUM_CLASSES,
        dropout_ratio=0.,
        norm_cfg=dict(type='BN'),
        high_pam=dict(type='PatchAttention', reduction=4, window=2),
        low_pam=dict(type='PatchAttention', reduction=2, window=4),
        aem=dict(type='AttentionEmbedding', reduction=4, window=2))
    cfg.update(kwargs)
    head = LANetHead(**cfg)
    head.init_weights()
    return head


def features(batch=2, low=(16, 20), high=(2, 3)):
    torch.manual_seed(1)
    return [torch.randn(batch, 8, *low), torch.randn(batch, 16, *high)]


def samples(batch=2, size=(16, 20)):
    torch.manual_seed(2)
    out = []
    for _ in range(batch):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, NUM_CLASSES, (1, *size)))
        out.append(sample)
    return out


@pytest.mark.parametrize('row', ROWS)
def test_each_ablation_row_builds_its_modules(row):
    head = make_head(**ROWS[row])
    kw = ROWS[row]
    assert isinstance(head.high_pam, PatchAttention) == ('high_pam' not in kw)
    assert isinstance(head.low_pam, PatchAttention) == ('low_pam' not in kw)
    assert isinstance(head.aem, AttentionEmbedding) == ('aem' not in kw)
    assert (head.low_reduce is not None) == kw.get('with_low_level', True)
    out = head.eval()(features())
    expected = (2, 3) if 'with_low_level' in kw else (16, 20)
    assert out.shape == (2, NUM_CLASSES, *expected)


def test_fcn_baseline_is_reduction_then_classifier():
    head = make_head(**ROWS['fcn']).eval()
    feats = features()
    expected = head.conv_seg(head.high_reduce(feats[1]))
    torch.testing.assert_close(head(feats), expected)


def test_sum_fusion_adds_the_branch_logits():
    head = make_head().eval()
    feats = features()
    logits = head.forward_branches(feats)
    high = head.high_pam(head.high_reduce(feats[1]))
    low = head.aem(high, head.low_pam(head.low_reduce(feats[0])))
    expected_high = F.interpolate(
        head.conv_seg(high), size=(16, 20), mode='bilinear')
    torch.testing.assert_close(logits['high'], expected_high)
    torch.testing.assert_close(logits['low'], head.conv_seg_low(low))
    torch.testing.assert_close(logits['fused'],
                               expected_high + head.conv_seg_low(low))
    torch.testing.assert_close(head(feats), logits['fused'])


def test_concat_fusion_classifies_the_concatenation():
    head = make_head(**ROWS['fcn-lowfeat']).eval()
    assert head.conv_seg.in_channels == 12 + 6
    assert not hasattr(head, 'conv_seg_low')
    feats = features()
    high = F.interpolate(
        head.high_reduce(feats[1]), size=(16, 20), mode='bilinear')
    expected = head.conv_seg(
        torch.cat([high, head.low_reduce(feats[0])], dim=1))
    torch.testing.assert_close(head(feats), expected)


@pytest.mark.parametrize('detach', [False, True])
def test_detached_aem_input_stops_the_low_branch_gradient(detach):
    head = make_head(detach_aem_input=detach)
    logits = head.forward_branches(features())
    logits['low'].sum().backward()
    grad = head.high_reduce.conv.weight.grad
    assert (grad is None or not grad.any()) == detach


def test_gradient_reaches_every_parameter():
    head = make_head(branch_loss_weights=dict(high=0.3, low=0.3))
    losses = head.loss(features(), samples(), train_cfg={})
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    for name, param in head.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def cross_entropy(logits, data_samples):
    labels = torch.stack([s.gt_sem_seg.data[0] for s in data_samples])
    logits = F.interpolate(
        logits, size=labels.shape[-2:], mode='bilinear', align_corners=False)
    return F.cross_entropy(logits, labels)


def test_paper_loss_is_the_fused_cross_entropy_only():
    head = make_head()
    feats, data = features(), samples()
    losses = head.loss(feats, data, train_cfg={})
    assert set(losses) == {'loss_ce', 'acc_seg'}
    torch.testing.assert_close(losses['loss_ce'],
                               cross_entropy(head(feats), data))


def test_authors_branch_losses():
    head = make_head(branch_loss_weights=dict(high=0.3, low=0.3)).eval()
    feats, data = features(), samples()
    losses = head.loss(feats, data, train_cfg={})
    logits = head.forward_branches(feats)
    for branch in ('high', 'low'):
        torch.testing.assert_close(
            losses[f'loss_ce_{branch}'],
            0.3 * cross_entropy(logits[branch], data))
    torch.testing.assert_close(losses['loss_ce'],
                               cross_entropy(logits['fused'], data))


def test_branch_loss_scale_multiplies_the_branch_weights():
    """What BranchLossDecayHook sets; the head reads nothing else."""
    head = make_head(branch_loss_weights=dict(high=1.0)).eval()
    assert head.branch_loss_scale == 1.
    feats, data = features(), samples()
    head.branch_loss_scale = (1 - 25 / 100)**2
    losses = head.loss(feats, data, train_cfg={})
    assert 'loss_ce_low' not in losses
    torch.testing.assert_close(
        losses['loss_ce_high'], (1 - 25 / 100)**2 *
        cross_entropy(head.forward_branches(feats)['high'], data))
    torch.testing.assert_close(losses['loss_ce'],
                               cross_entropy(head(feats), data))


def test_head_reads_no_runner_state():
    import inspect

    from mmseg_lanet.models.decode_heads import lanet_head
    source = inspect.getsource(lanet_head)
    assert 'MessageHub' not in source and 'runner' not in source.lower()


@pytest.mark.parametrize('low, high', [((3, 5), (1, 1)), ((1, 1), (1, 1)),
                                       ((499, 499), (63, 63))])
def test_odd_and_tiny_maps(low, high):
    head = make_head().eval()
    with torch.no_grad():
        out = head(features(batch=1, low=low, high=high))
    assert out.shape == (1, NUM_CLASSES, *low)
    assert torch.isfinite(out).all()


def test_batch_of_one_in_train_mode():
    head = make_head()
    losses = head.loss(
        features(batch=1), samples(batch=1), train_cfg={})
    losses['loss_ce'].backward()
    assert torch.isfinite(losses['loss_ce'])


@pytest.mark.parametrize('kwargs, match', [
    (dict(in_index=0, in_channels=8, input_transform=None),
     'two feature levels ordered \\(low, high\\)'),
    (dict(in_index=(0, 1, 2), in_channels=(8, 16, 32)),
     'two feature levels'),
    (dict(fusion='max'), "fusion must be one of \\('sum', 'concat'\\)"),
    (dict(with_low_level=False), 'low_pam and aem act on the low-level'),
    (dict(branch_loss_weights=dict(mid=1.)), "takes keys \\('high', 'low'\\)"),
    (dict(branch_loss_weights=dict(high=-1.)), 'must be >= 0'),
    (dict(fusion='concat', branch_loss_weights=dict(high=0.3)),
     'need the per-branch classifiers'),
    (dict(branch_loss_decay_power=2), "is now a hook: add custom_hooks = "
     "\\[dict\\(type='BranchLossDecayHook', power=2\\)\\]"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_head(**kwargs)
