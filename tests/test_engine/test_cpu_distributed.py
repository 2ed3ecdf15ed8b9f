"""The CPU (gloo) DDP wrapper behaves like mmengine's GPU one; srun's tasks
find each other; the tools close their process group."""
import os

import pytest
import torch
import torch.distributed as dist
from torch import nn

from mmseg_lanet.engine.cpu_distributed import (CPUDistributedDataParallel,
                                                slurm_environment)


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


def test_tools_destroy_their_process_group_also_on_error(tmp_path):
    from mmseg_lanet.engine.cli import closes_process_group

    @closes_process_group
    def failing_main():
        dist.init_process_group(
            'gloo', init_method=f'file://{tmp_path / "store"}', rank=0,
            world_size=1)
        raise ValueError('bad input')

    with pytest.raises(ValueError, match='bad input'):
        failing_main()
    assert not dist.is_initialized()


def test_the_runner_is_freed_before_its_process_group(tmp_path,
                                                     monkeypatch):
    """A runner left in a reference cycle keeps its DDP wrapper, whose
    reducer holds the group: it is collected before the group is destroyed,
    not at the interpreter's finalization (where gloo aborted a finished
    run)."""
    import gc
    import weakref

    from torch.nn.parallel import DistributedDataParallel

    from mmseg_lanet.engine.cli import closes_process_group
    destroy, ddp, alive_at_destroy = dist.destroy_process_group, [], []
    monkeypatch.setattr(
        dist, 'destroy_process_group',
        lambda: (alive_at_destroy.append(ddp[0]() is not None), destroy()))

    @closes_process_group
    def main():
        dist.init_process_group(
            'gloo', init_method=f'file://{tmp_path / "store"}', rank=0,
            world_size=1)
        runner = dict(model=DistributedDataParallel(torch.nn.Linear(2, 2)))
        runner['self'] = runner  # a cycle, as mmengine's runner has
        ddp.append(weakref.ref(runner['model']))

    gc.disable()  # only the wrapper may collect the cycle
    try:
        main()
    finally:
        gc.enable()
    assert alive_at_destroy == [False]
    assert not dist.is_initialized()


SRUN_TASK = dict(SLURM_PROCID='1', SLURM_NTASKS='2', SLURM_LOCALID='1',
                 SLURM_NODELIST='node[07-08]', SLURM_CPUS_PER_TASK='3')


def test_slurm_environment_gives_torch_its_variables(monkeypatch):
    for key in ('MASTER_PORT', 'OMP_NUM_THREADS', 'RANK', 'WORLD_SIZE'):
        monkeypatch.delenv(key, raising=False)
    for key, value in SRUN_TASK.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv('MASTER_ADDR', 'node07')  # kept: no scontrol call
    threads = torch.get_num_threads()
    try:
        slurm_environment()
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(threads)
    assert [os.environ[k] for k in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK',
                                    'MASTER_ADDR', 'MASTER_PORT')] == [
                                        '1', '2', '1', 'node07', '29500']


def test_slurm_launcher_outside_srun_is_named(monkeypatch):
    for key in SRUN_TASK:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv('SLURM_NTASKS', '2')
    with pytest.raises(RuntimeError) as err:
        slurm_environment()
    assert str(err.value) == (
        '--launcher slurm expects srun to set SLURM_PROCID, SLURM_NODELIST; '
        'start the run with tools/slurm_train.sh or srun.')
