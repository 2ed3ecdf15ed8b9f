"""Build a segmentor from a config and load a checkpoint that fits it."""
from typing import Union

import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint

from mmseg.registry import MODELS


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


def load_segmentor(config: Union[str, Config], checkpoint: str,
                   device: str = 'cpu') -> torch.nn.Module:
    """A segmentor in eval mode with the checkpoint's weights.

    SyncBN layers become BN (one process), no pretrained weights are
    fetched, and the checkpoint must fit the model exactly
    (:func:`check_state_dict`).

    Args:
        config (str | Config): The model's config.
        checkpoint (str): Its checkpoint file.
        device (str): Where the model goes. Defaults to 'cpu'.

    Returns:
        torch.nn.Module: The model, with ``cfg`` and ``dataset_meta`` set.
    """
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
    return model.to(device).eval()
