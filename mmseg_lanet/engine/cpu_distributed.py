"""Distributed training on CPU-only machines (gloo).

mmengine's ``pytorch`` launcher calls ``torch.cuda.set_device``
unconditionally and wraps the model in a DDP with ``device_ids=[LOCAL_RANK]``;
both fail on a CPU build of torch, so no CI machine could exercise the
distributed path. Its ``slurm`` launcher calls ``torch.cuda.set_device`` too.
:func:`setup_cpu_distributed` initialises the gloo process group itself
(mmengine then skips its own initialisation), from torchrun's environment or
from srun's, and selects :class:`CPUDistributedDataParallel`. On a machine
with CUDA nothing changes: the standard NCCL path of MMSeg is used.
"""
import os
import subprocess
from datetime import timedelta

import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm
# mmengine's Runner looks wrappers up in its own (root) registry with
# `MODEL_WRAPPERS.get`, which does not search mmseg's child registry.
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """:class:`MMDistributedDataParallel` for modules that live on the CPU.

    torch's DDP only accepts ``device_ids=None`` for CPU modules, and
    ``SyncBatchNorm`` has no CPU kernel, so SyncBN layers are reverted to
    plain BN: on CPU each process keeps its own batch statistics, while the
    gradients are still averaged over all processes.

    Buffers are not broadcast from rank 0 before each forward by default,
    as in mmengine's GPU wrapper (``Runner.wrap_model`` passes
    ``broadcast_buffers=False``), so a CPU run behaves like a GPU run.

    Args:
        module (nn.Module): The model to wrap, on the CPU.
        device_ids: Ignored (the runner passes ``[LOCAL_RANK]``).
        **kwargs: Passed to :class:`MMDistributedDataParallel`;
            ``broadcast_buffers`` defaults to False.
    """

    def __init__(self, module, device_ids=None, **kwargs):
        kwargs.setdefault('broadcast_buffers', False)
        super().__init__(
            module=revert_sync_batchnorm(module), device_ids=None, **kwargs)


def setup_cpu_distributed(cfg) -> bool:
    """Prepare ``cfg`` for a multi-process run on a machine without CUDA.

    Args:
        cfg (Config): The config, with ``cfg.launcher`` already set.

    Returns:
        bool: True when the CPU (gloo) path was set up, False when the run
        is single-process or CUDA is available (nothing is changed then).
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher == 'slurm':
        slurm_environment()
    elif launcher != 'pytorch':
        raise NotImplementedError(
            f'--launcher {launcher} needs CUDA; on a CPU-only machine use '
            '--launcher pytorch (tools/dist_train.sh, torchrun) or --launcher '
            'slurm (tools/slurm_train.sh, srun).')
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
               if k not in os.environ]
    if missing:
        raise RuntimeError(
            f'--launcher pytorch expects torchrun to set {", ".join(missing)};'
            ' start the run with tools/dist_train.sh or torchrun.')
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    if not dist.is_initialized():
        dist.init_process_group(
            backend='gloo',
            timeout=timedelta(seconds=dist_cfg.get('timeout', 1800)))
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='CPUDistributedDataParallel',
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    return True


def slurm_environment() -> None:
    """Set torch's rendezvous variables from those srun gives each task.

    What mmengine's ``slurm`` launcher does before it selects a GPU: the rank
    is ``SLURM_PROCID`` out of ``SLURM_NTASKS``, the master is the first node
    of the job on ``MASTER_PORT`` (default 29500); ``MASTER_ADDR`` and
    ``MASTER_PORT`` already set are kept. Each task computes with
    ``SLURM_CPUS_PER_TASK`` threads unless ``OMP_NUM_THREADS`` is set: torch
    would otherwise start a thread per core of the node in every task.

    Raises:
        RuntimeError: When srun's variables are missing (the script was not
            started by srun).
    """
    missing = [k for k in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST')
               if k not in os.environ]
    if missing:
        raise RuntimeError(
            f'--launcher slurm expects srun to set {", ".join(missing)}; '
            'start the run with tools/slurm_train.sh or srun.')
    env = os.environ
    if 'MASTER_ADDR' not in env:
        hosts = subprocess.run(
            ['scontrol', 'show', 'hostnames', env['SLURM_NODELIST']],
            check=True, capture_output=True, text=True).stdout.split()
        env['MASTER_ADDR'] = hosts[0]
    env.setdefault('MASTER_PORT', '29500')
    env['RANK'] = env['SLURM_PROCID']
    env['WORLD_SIZE'] = env['SLURM_NTASKS']
    env['LOCAL_RANK'] = env.get('SLURM_LOCALID', '0')
    if 'OMP_NUM_THREADS' not in env and 'SLURM_CPUS_PER_TASK' in env:
        torch.set_num_threads(int(env['SLURM_CPUS_PER_TASK']))
