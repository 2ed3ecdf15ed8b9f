"""The CPU (gloo) DDP wrapper behaves like mmengine's GPU one."""
import pytest
import torch.distributed as dist
from torch import nn

from mmseg_lanet.engine.cpu_distributed import CPUDistributedDataParallel


@pytest.fixture
def gloo_group(tmp_path):
    """A one-process gloo group, destroyed after the test."""
    dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path / "store"}', rank=0,
        world_size=1)
    yield
    dist.destroy_process_group()


def test_buffers_not_broadcast_like_the_gpu_wrapper(gloo_group):
    model = nn.Sequential(nn.Conv2d(2, 4, 1), nn.SyncBatchNorm(4))
    wrapper = CPUDistributedDataParallel(model, device_ids=[0])
    # mmengine's Runner.wrap_model builds the GPU DDP with
    # broadcast_buffers=False; torch's default is True.
    assert wrapper.broadcast_buffers is False
    assert wrapper.device_ids is None
    assert type(wrapper.module[1]) is not nn.SyncBatchNorm  # no CPU kernel
    explicit = CPUDistributedDataParallel(
        nn.Conv2d(2, 4, 1), broadcast_buffers=True)
    assert explicit.broadcast_buffers is True
