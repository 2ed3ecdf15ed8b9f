"""Build a segmentor from a config and load a checkpoint that fits it."""
from typing import Union

import torch
from mmcv.cnn import fuse_conv_bn
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint

from mmseg.registry import MODELS
from ..models.complexity import input_bands


def check_state_dict(model: torch.nn.Module, state: dict,
                     checkpoint: str) -> None:
    """Raise, naming the checkpoint, unless it holds exactly the model's
    parameters with the model's shapes (mmengine would only warn and keep
    random weights)."""
    expected = model.state_dict()
    head = getattr(model, 'decode_head', None)
    num_classes = getattr(head, 'out_channels', None)
    for key, value in state.items():
        if key in expected and value.shape != expected[key].shape:
            if 'conv_seg' in key and value.dim() >= 1:
                raise ValueError(
                    f'{checkpoint}: trained for {value.shape[0]} classes, '
                    f'the config has {num_classes} ({key})')
            raise ValueError(
                f'{checkpoint}: {key} has shape {tuple(value.shape)}, the '
                f'config\'s model {tuple(expected[key].shape)}')
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f'{checkpoint}: does not fit the config\'s model; missing '
            f'{missing[:5]}{"..." if len(missing) > 5 else ""}, unexpected '
            f'{unexpected[:5]}{"..." if len(unexpected) > 5 else ""}')


def count_batch_norms(model: torch.nn.Module) -> int:
    """The batch-norm layers of ``model`` (SyncBN included)."""
    return sum(
        isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
        for m in model.modules())


def fold_batch_norms(model: torch.nn.Module, bands: int,
                     probe_size: int = 64) -> int:
    """Fold every batch norm that follows a convolution into it, for
    inference: the network's arithmetic is unchanged up to rounding, one
    operator and one pass over the activations fewer per folded layer.

    mmcv's :func:`~mmcv.cnn.fuse_conv_bn` pairs a norm with the last
    convolution registered before it in the same module, which is the data
    flow of ConvModule and ResNet blocks but not of every design; the
    logits of a random probe are therefore compared before and after.

    Args:
        model (nn.Module): A segmentor in eval mode, changed in place.
        bands (int): Input bands, for the probe.
        probe_size (int): Side of the probe image. Defaults to 64.

    Returns:
        int: The number of batch norms folded.

    Raises:
        ValueError: If folding changed the probe's logits beyond rounding
            (a norm that does not follow the convolution before it).
    """
    before = count_batch_norms(model)
    device = next(model.parameters()).device
    probe = torch.randn(1, bands, probe_size, probe_size, device=device,
                        generator=torch.Generator(device).manual_seed(0))
    metas = [dict(img_shape=(probe_size, probe_size))]
    with torch.no_grad():
        reference = model.encode_decode(probe, metas)
        fuse_conv_bn(model)
        folded = model.encode_decode(probe, metas)
    error = (folded - reference).abs().max().item()
    scale = reference.abs().max().item()
    if not error <= 1e-3 * (1 + scale):
        # A ValueError: tools/predict.py reports it in one line.
        raise ValueError(
            f'folding batch norms into convolutions changed the logits by '
            f'{error:.3g} (largest {scale:.3g}): a norm of this model does '
            'not follow the convolution registered before it; predict '
            'without folding')
    return before - count_batch_norms(model)


def check_device(device: Union[str, torch.device]) -> torch.device:
    """``device`` as a torch device that this machine has.

    Raises:
        ValueError: Naming the device, when torch does not know it, or
            names a CUDA device that this torch build or machine lacks.
    """
    try:
        found = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f'device {device!r}: not a torch device; use cpu, '
                         'cuda or cuda:N') from None
    if found.type == 'cuda':
        if not torch.cuda.is_available():
            raise ValueError(
                f'device {device!r}: CUDA is not available here (torch '
                f'{torch.__version__}); use cpu')
        count = torch.cuda.device_count()
        if found.index is not None and found.index >= count:
            raise ValueError(f'device {device!r}: this machine has {count} '
                             'CUDA device(s), cuda:0 to cuda:'
                             f'{count - 1}')
    return found


def load_segmentor(config: Union[str, Config], checkpoint: str,
                   device: str = 'cpu',
                   fold_norms: bool = False) -> torch.nn.Module:
    """A segmentor in eval mode with the checkpoint's weights.

    SyncBN layers become BN (one process), no pretrained weights are
    fetched, and the checkpoint must fit the model exactly
    (:func:`check_state_dict`).

    Args:
        config (str | Config): The model's config.
        checkpoint (str): Its checkpoint file.
        device (str | torch.device): Where the model goes
            (:func:`check_device`). Defaults to 'cpu'.
        fold_norms (bool): Fold batch norms into their convolutions
            (:func:`fold_batch_norms`). Defaults to False.

    Returns:
        torch.nn.Module: The model, with ``cfg`` and ``dataset_meta`` set.
    """
    device = check_device(device)
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    cfg.model.pop('pretrained', None)
    cfg.model.train_cfg = None
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    ckpt = _load_checkpoint(checkpoint, map_location='cpu')
    if not isinstance(ckpt, dict):
        raise ValueError(f'{checkpoint}: not a checkpoint (a {type(ckpt)})')
    state = ckpt.get('state_dict', ckpt)
    state = {k[7:] if k.startswith('module.') else k: v
             for k, v in state.items()}
    check_state_dict(model, state, checkpoint)
    model.load_state_dict(state)
    model.cfg = cfg
    model.dataset_meta = ckpt.get('meta', {}).get('dataset_meta')
    model.to(device).eval()
    if fold_norms:
        try:
            fold_batch_norms(model, input_bands(cfg))
        except ValueError as err:
            raise ValueError(f'{cfg.filename}: {err}') from None
    return model
