"""Patch attention module (PAM) of LANet."""
from torch import Tensor

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
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
        pool_mode (str): How patch descriptors are pooled, see
            :data:`~.patch_pooling.POOL_MODES`: 'patch' (paper),
            'adaptive' or 'sliding' (authors' code). Default: 'patch'.
        upsample_mode (str): How the attention returns to the map size
            (``F_U``), see :data:`~.patch_pooling.UPSAMPLE_MODES`: 'patch'
            (paper) or 'bilinear' (authors' code). Default: 'patch'.
        norm_cfg (dict, optional): Norm layer between the two 1x1
            convolutions; none in the paper. Default: None.
        act_cfg (dict): The activation between them. Default: ReLU.
        align_corners (bool): For bilinear upsampling. Default: False.
        residual (bool): Return ``X + X * A`` (paper and authors) or
            ``X * A``. Default: True.
        init_cfg (dict, optional): Initialization config. Default: None.

    Shapes:
        - x: (N, C, H, W), any H, W >= 1
        - output: (N, C, H, W)
    """

    def __init__(self,
                 channels: int,
                 reduction: int = 16,
                 window: WindowType = 4,
                 pool_mode: str = 'patch',
                 upsample_mode: str = 'patch',
                 norm_cfg: OptConfigType = None,
                 act_cfg: ConfigType = dict(type='ReLU'),
                 align_corners: bool = False,
                 residual: bool = True,
                 init_cfg: OptConfigType = None):
        super().__init__(
            channels,
            channels,
            reduction,
            window,
            pool_mode=pool_mode,
            upsample_mode=upsample_mode,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            align_corners=align_corners,
            residual=residual,
            init_cfg=init_cfg)

    def forward(self, x: Tensor) -> Tensor:
        """Re-weight ``x`` by its patch attention."""
        return self.modulate(x, x)
