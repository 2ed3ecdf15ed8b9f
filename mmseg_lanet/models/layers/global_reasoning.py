"""Global reasoning unit (GloRe)."""
from typing import Optional

from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType


@MODELS.register_module()
class GlobalReasoning(BaseModule):
    """Global reasoning unit of `Graph-Based Global Reasoning Networks
    <https://arxiv.org/abs/1811.12814>`_ (Chen et al., CVPR 2019, Sec. 3).

    With ``X`` the input flattened to L = H x W positions:

    1. Projection (eq. 1-2): ``B = theta(X)`` (1x1 convolution, N x L) and
       the node features ``V = phi(X) B^T / L`` (S x N), ``phi`` a 1x1
       convolution to S state channels. The division by L is the
       ``normalize`` option of the authors' code: without it V is a sum
       over positions and grows with the input's area (a 6000 x 6000 test
       tile has over 100 times the positions of a 512 x 512 training crop,
       and overflows float16 under AMP); with it V is a mean.
    2. Graph convolution (eq. 3): ``Z = W_g ReLU((I - A_g) V)`` with the
       adjacency ``A_g`` a learned N x N linear map over nodes (with bias)
       and ``W_g`` a learned S x S linear map over states.
    3. Reverse projection: ``Y = Z B`` (S x L), a 1x1 convolution back to C
       channels, a norm layer, and the residual ``X + ...``. The norm's
       scale starts at zero (the authors' "blocker", zero-initialised), so
       a new unit is the identity and a pretrained network's features pass
       unchanged until the unit has learned something.

    Args:
        channels (int): Channels C of the input (and output).
        state_channels (int, optional): S. Default: ``channels // 2``
            (the authors' 2 x num_mid with num_mid = C / 4).
        num_nodes (int, optional): N. Default: ``channels // 4``.
        normalize (bool): Divide the node features by L. Default: True.
        norm_cfg (dict): Norm after the extension convolution. Default: BN.
        init_cfg (dict, optional): Initialization config.

    Shapes:
        - x: (N, C, H, W)
        - output: (N, C, H, W)
    """

    def __init__(self,
                 channels: int,
                 state_channels: Optional[int] = None,
                 num_nodes: Optional[int] = None,
                 normalize: bool = True,
                 norm_cfg: ConfigType = dict(type='BN'),
                 init_cfg: OptConfigType = None):
        super().__init__(init_cfg)
        state_channels = state_channels or max(1, channels // 2)
        num_nodes = num_nodes or max(1, channels // 4)
        for name, value in (('state_channels', state_channels),
                            ('num_nodes', num_nodes)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f'{name} must be a positive int, got {value!r}')
        self.state = nn.Conv2d(channels, state_channels, 1)
        self.projection = nn.Conv2d(channels, num_nodes, 1)
        self.adjacency = nn.Conv1d(num_nodes, num_nodes, 1)
        self.state_update = nn.Conv1d(state_channels, state_channels, 1,
                                      bias=False)
        self.extend = nn.Conv2d(state_channels, channels, 1, bias=False)
        self.norm = build_norm_layer(norm_cfg, channels)[1]
        self.normalize = normalize
        nn.init.zeros_(self.norm.weight)

    def init_weights(self) -> None:
        """Initialise as configured, then zero the norm's scale again: a
        parent's ``init_cfg`` (e.g. constant 1 on every norm layer) is
        applied before its children's ``init_weights``."""
        super().init_weights()
        nn.init.zeros_(self.norm.weight)

    def forward(self, x: Tensor) -> Tensor:
        """Reason over a graph of ``num_nodes`` nodes and add it to ``x``."""
        n, _, h, w = x.shape
        states = self.state(x).flatten(2)  # (n, S, L)
        projection = self.projection(x).flatten(2)  # (n, N, L)
        nodes = states @ projection.transpose(1, 2)  # (n, S, N)
        if self.normalize:
            nodes = nodes / states.shape[2]
        # (I - A_g) V: the adjacency mixes nodes, so it acts on V^T.
        nodes = nodes - self.adjacency(nodes.transpose(1, 2)).transpose(1, 2)
        nodes = self.state_update(nodes.relu())
        reprojected = (nodes @ projection).reshape(n, -1, h, w)
        return x + self.norm(self.extend(reprojected))
