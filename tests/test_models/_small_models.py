"""Shrink a config's ResNet-50 and heads to seconds of CPU time."""
from mmengine.config import Config

#: ResNet-50 widths divided by this: stem 8, stages 32, 64, 128, 256.
SCALE = 8
CHANNEL_KEYS = ('in_channels', 'channels', 'low_channels', 'c1_in_channels',
                'c1_channels', 'pam_channels')


def _scaled(value):
    if isinstance(value, (list, tuple)):
        return type(value)(_scaled(v) for v in value)
    return max(1, value // SCALE)


def shrink_heads(cfg: Config) -> Config:
    """Every channel count of the decode and auxiliary heads / SCALE."""
    for key in ('decode_head', 'auxiliary_head'):
        head = cfg.model.get(key)
        for name in CHANNEL_KEYS if head else ():
            if name in head:
                head[name] = _scaled(head[name])
    return cfg


def shrink_backbone(cfg: Config) -> Config:
    """The ResNet-50 backbone at 1 / SCALE of its width, no pretrained
    download."""
    cfg.model.backbone.update(
        stem_channels=64 // SCALE, base_channels=64 // SCALE, init_cfg=None)
    return cfg


def shrink_model(cfg: Config) -> Config:
    """Backbone and heads at 1 / SCALE of their widths (they still fit)."""
    return shrink_heads(shrink_backbone(cfg))
