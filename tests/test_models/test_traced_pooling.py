"""PAM, AEM and adaptive pooling traced at one size run at any other size
with the eager outputs (the form ONNX export records)."""
import pytest
import torch

from mmseg_lanet.models import AttentionEmbedding, PatchAttention
from mmseg_lanet.models.layers import traced_pooling
from mmseg_lanet.models.layers.patch_pooling import (pool_descriptors,
                                                     upsample_attention)

# Traced at TRACE_SIZE, run at each of SIZES: larger, smaller than the
# windows, 1 x 1, partial last patches, several adaptive bins.
TRACE_SIZE = (40, 48)
SIZES = [(40, 48), (1, 1), (3, 5), (13, 17), (63, 64), (41, 100)]
MODES = [
    dict(pool_mode='patch', upsample_mode='patch', window=4),
    dict(pool_mode='patch', upsample_mode='patch', window=(5, 3)),
    dict(pool_mode='patch', upsample_mode='patch', window=20),
    dict(pool_mode='patch', upsample_mode='bilinear', window=4),
    dict(pool_mode='adaptive', upsample_mode='patch', window=4),
    dict(pool_mode='adaptive', upsample_mode='bilinear', window=20),
    dict(pool_mode='sliding', upsample_mode='patch', window=7),
    dict(pool_mode='sliding', upsample_mode='bilinear', window=(3, 5)),
]


class AEMOnLowMap(torch.nn.Module):
    """AEM from a map to one 4 times larger (the head's stride-4 map)."""

    def __init__(self, **modes):
        super().__init__()
        self.aem = AttentionEmbedding(4, 3, reduction=2, **modes)

    def forward(self, high):
        low = torch.nn.functional.interpolate(high[:, :3], scale_factor=4.)
        return self.aem(high, low + 1)


@pytest.mark.parametrize('modes', MODES, ids=str)
def test_traced_attention_takes_any_size(modes):
    torch.manual_seed(0)
    for module in (PatchAttention(4, reduction=2, **modes).eval(),
                   AEMOnLowMap(**modes).eval()):
        with torch.no_grad():
            traced = torch.jit.trace(module,
                                     torch.randn(2, 4, *TRACE_SIZE),
                                     check_trace=False)
            for size in SIZES:
                x = torch.randn(1, 4, *size)
                eager, out = module(x), traced(x)
                assert out.shape == eager.shape
                torch.testing.assert_close(out, eager, rtol=0, atol=1e-5)


def test_eager_path_is_untouched_outside_tracing():
    """The shape-derived form only runs while tracing; in eager mode the
    same calls give bit-identical outputs (no other code path)."""
    assert not traced_pooling.exporting()
    x = torch.randn(2, 3, 13, 17)
    pooled = pool_descriptors(x, (4, 4), 'patch')
    assert torch.equal(pooled,
                       torch.nn.functional.avg_pool2d(x, 4, 4, ceil_mode=True))
    spread = upsample_attention(pooled, (13, 17), (13, 17), (4, 4))
    assert torch.equal(spread[..., :4, :4],
                       pooled[..., :1, :1].expand(-1, -1, 4, 4))


@pytest.mark.parametrize('output_size', [2, (3, 6), (None, 2)])
def test_exportable_adaptive_pool(output_size, tmp_path):
    """PSPNet's pyramid pooling: ONNX's exporter refuses adaptive pooling
    of a symbolic size; the exportable form runs at any size."""
    import onnxruntime as ort
    pool = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(output_size))
    assert traced_pooling.make_adaptive_pools_exportable(pool) == 1
    assert isinstance(pool[0], traced_pooling.ExportableAdaptiveAvgPool2d)
    reference = torch.nn.AdaptiveAvgPool2d(output_size)
    path = str(tmp_path / 'pool.onnx')
    axes = {0: 'n', 2: 'h', 3: 'w'}
    torch.onnx.export(pool, (torch.randn(1, 2, 24, 30), ),
                      path,
                      dynamo=False,
                      input_names=['x'],
                      output_names=['y'],
                      dynamic_axes=dict(x=axes, y=axes))
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    for size in [(24, 30), (7, 9), (2, 3), (31, 17)]:
        x = torch.randn(2, 2, *size)
        assert torch.equal(pool(x), reference(x))
        torch.testing.assert_close(torch.from_numpy(
            session.run(None, dict(x=x.numpy()))[0]),
                                   reference(x),
                                   rtol=0,
                                   atol=1e-6)
