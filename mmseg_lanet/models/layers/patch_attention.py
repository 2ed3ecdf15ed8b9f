"""Patch attention module (PAM) of LANet."""
from torch import Tensor

from mmseg.registry import MODELS
from .local_attention_gate import LocalAttention
from .patch_pooling import WindowType


@MODELS.register_module()
class PatchAttention(LocalAttention):
    """Patch attention module (PAM) of `LANet
    <https://ieeexplore.ieee.org/document/9102424>`_ (Sec. III-B, eq. 1-3).

    Each ``h_p x w_p`` patch of ``X`` is averaged into one descriptor, a
    1x1 reduce -> activation -> 1x1 bottleneck with a sigmoid turns every
    descriptor into a channel attention vector for its patch, and
    ``X + X * A`` keeps the input on a residual path. The window should
    grow the receptive field markedly at the level it is applied to (the
    authors use 4 at stride 16/32 and 20 at stride 4). Patches at the
    bottom/right edge may be partial, see :mod:`.patch_pooling`.

    The paper's form is the default; the authors' code corresponds to
    ``pool_mode='adaptive', upsample_mode='bilinear',
    norm_cfg=dict(type='BN', momentum=0.95)``.

    Args:
        channels (int): Channels C of the input (and output).
        reduction (int): Bottleneck reduction ratio r. Default: 16.
        window (int | tuple[int, int]): Patch size ``(h_p, w_p)`` in pixels
            of the input map. Default: 4.
        **kwargs: ``residual`` (return ``X + X * A``, paper and authors, or
            ``X * A``; default True), ``init_cfg`` and the options of
            :class:`LocalAttentionGate`: ``pool_mode``, ``upsample_mode``,
            ``norm_cfg``, ``act_cfg``, ``align_corners``.

    Shapes:
        - x: (N, C, H, W), any H, W >= 1
        - output: (N, C, H, W)
    """

    def __init__(self,
                 channels: int,
                 reduction: int = 16,
                 window: WindowType = 4,
                 **kwargs):
        super().__init__(channels, channels, reduction, window, **kwargs)

    def forward(self, x: Tensor) -> Tensor:
        """Re-weight ``x`` by its patch attention."""
        return self.modulate(x, x)
