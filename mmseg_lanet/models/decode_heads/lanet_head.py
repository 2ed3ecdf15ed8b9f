"""Decode head of LANet with switches for the paper's ablation rows."""
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, SampleList

FUSIONS = ('sum', 'concat')
BRANCHES = ('high', 'low')


@MODELS.register_module()
class LANetHead(BaseDecodeHead):
    """Local Attention Network head of `LANet: Local Attention Embedding to
    Improve the Semantic Segmentation of Remote Sensing Images
    <https://ieeexplore.ieee.org/document/9102424>`_ (Sec. III).

    Two branches. High level: last backbone stage -> 1x1 conv-norm-act to
    ``channels`` -> :class:`PatchAttention` -> classifier. Low level: a
    stride-4 stage -> 1x1 conv-norm-act to ``low_channels`` -> PAM ->
    :class:`AttentionEmbedding` driven by the high-level branch ->
    classifier. The high-level logits are upsampled to the low-level size
    and the two are summed (Sec. III-D), so the output has the low-level
    resolution (the authors upsample both to the image first; bilinear
    upsampling is linear, the two differ only by the interpolation path).

    Every row of the paper's ablation tables I and II is a setting of this
    head (``None`` switches a module off)::

        row                    with_low_level fusion   high_pam low_pam aem
        FCN                    False          -        None     None    None
        FCN + PAM              False          -        dict     None    None
        FCN + low-feat         True           'concat' None     None    None
        FCN + low-feat + 2 PAM True           'sum'    dict     dict    None
        FCN + low-feat + AEM   True           'sum'    None     None    dict
        LANet                  True           'sum'    dict     dict    dict

    With ``fusion='concat'`` the high-level features are upsampled,
    concatenated with the low-level ones and classified by one 1x1
    convolution (a sum of per-branch linear classifiers up to the
    upsampling order).

    Args:
        low_channels (int): Channels of the low-level branch after its
            reduction (the authors: 64; ``channels`` is the high-level
            width, the authors: 128). Default: 64.
        with_low_level (bool): Use the low-level branch. Default: True.
        fusion (str): 'sum' (two classifiers, logits summed, paper) or
            'concat' (features concatenated, one classifier). Default: 'sum'.
        high_pam (dict, optional): Config of the high-level PAM, without its
            ``channels``; None for none. Default: window 4, r = 16.
        low_pam (dict, optional): Config of the low-level PAM. Default:
            window 20, r = 8.
        aem (dict, optional): Config of the AEM, without its channel counts.
            Default: window 4 (the high-level PAM's patches), r = 16.
        detach_aem_input (bool): Stop the gradient of the AEM into the
            high-level branch (the authors' code); the paper does not.
            Default: False.
        branch_loss_weights (dict): Extra loss terms on each branch's own
            logits, ``{'high': w_h, 'low': w_l}``, with the head's
            ``loss_decode``: the total is ``L(high + low) + w_h L(high) +
            w_l L(low)``. Paper: none (all 0). The authors' code: 0.3 and
            0.3; their later version: ``high=1.0`` decayed by
            ``(1 - t / T) ** 2`` over training, which
            :class:`BranchLossDecayHook` does through
            ``branch_loss_scale``. Needs ``fusion='sum'`` and the low-level
            branch. Default: no branch losses.
        float32_under_amp (bool): Under autocast (AMP), cast the two input
            features to float32 and run the head without autocast. Its
            tensors are small, but autocast casts the weights of each of
            its ten convolutions, forward and backward (41 conversions per
            step of the head against 6 this way), and on a GPU LANet's AMP
            step waits on operator launches, not arithmetic. Outputs are
            float32 and nearer the float32 model's. Default: True.
        **kwargs: :class:`BaseDecodeHead` arguments. ``in_channels`` and
            ``in_index`` are pairs ordered (low level, high level), e.g.
            ``(256, 2048)`` and ``(0, 3)`` for ResNet-50;
            ``input_transform`` must be 'multiple_select' (the default here).

    Shapes:
        - inputs: backbone features; ``inputs[in_index[0]]`` of shape
          (N, in_channels[0], H_l, W_l), ``inputs[in_index[1]]`` of shape
          (N, in_channels[1], H_h, W_h)
        - output: (N, num_classes, H_l, W_l), or (N, num_classes, H_h, W_h)
          without the low-level branch
    """

    def __init__(self,
                 low_channels: int = 64,
                 with_low_level: bool = True,
                 fusion: str = 'sum',
                 high_pam: OptConfigType = dict(
                     type='PatchAttention', reduction=16, window=4),
                 low_pam: OptConfigType = dict(
                     type='PatchAttention', reduction=8, window=20),
                 aem: OptConfigType = dict(
                     type='AttentionEmbedding', reduction=16, window=4),
                 detach_aem_input: bool = False,
                 branch_loss_weights: Dict[str, float] = dict(
                     high=0., low=0.),
                 float32_under_amp: bool = True,
                 **kwargs):
        kwargs.setdefault('input_transform', 'multiple_select')
        has_low_classifier = with_low_level and fusion == 'sum'
        kwargs.setdefault(
            'init_cfg',
            dict(
                type='Normal',
                std=0.01,
                override=[dict(name='conv_seg')] +
                ([dict(name='conv_seg_low')] if has_low_classifier else [])))
        self._check_args(kwargs, with_low_level, fusion, low_pam, aem,
                         branch_loss_weights)
        super().__init__(**kwargs)
        self.with_low_level = with_low_level
        self.fusion = fusion
        self.detach_aem_input = detach_aem_input
        self.float32_under_amp = float32_under_amp
        self.branch_loss_weights = {
            branch: float(branch_loss_weights.get(branch, 0.))
            for branch in BRANCHES
        }
        # Multiplies branch_loss_weights; set by BranchLossDecayHook.
        self.branch_loss_scale = 1.

        low_in_channels, high_in_channels = self.in_channels
        self.high_reduce = self._reduction(high_in_channels, self.channels)
        self.high_pam = self._build_optional(high_pam, channels=self.channels)
        self.low_reduce = self.low_pam = self.aem = None
        if with_low_level:
            self.low_reduce = self._reduction(low_in_channels, low_channels)
            self.low_pam = self._build_optional(low_pam, channels=low_channels)
            self.aem = self._build_optional(
                aem, high_channels=self.channels, low_channels=low_channels)
            if has_low_classifier:
                self.conv_seg_low = nn.Conv2d(low_channels, self.out_channels,
                                              1)
            else:
                self.conv_seg = nn.Conv2d(self.channels + low_channels,
                                          self.out_channels, 1)

    @staticmethod
    def _check_args(kwargs: dict, with_low_level: bool, fusion: str,
                    low_pam: OptConfigType, aem: OptConfigType,
                    branch_loss_weights: Dict[str, float]) -> None:
        in_index = kwargs.get('in_index')
        in_channels = kwargs.get('in_channels')
        if (kwargs['input_transform'] != 'multiple_select'
                or not isinstance(in_index, (list, tuple))
                or not isinstance(in_channels, (list, tuple))
                or len(in_index) != 2 or len(in_channels) != 2):
            raise ValueError(
                'LANetHead takes two feature levels ordered (low, high): '
                'input_transform="multiple_select" with in_index and '
                'in_channels of length 2, got input_transform='
                f'{kwargs["input_transform"]!r}, in_index={in_index!r}, '
                f'in_channels={in_channels!r}')
        if fusion not in FUSIONS:
            raise ValueError(
                f'fusion must be one of {FUSIONS}, got {fusion!r}')
        if not with_low_level and (low_pam is not None or aem is not None):
            raise ValueError(
                'low_pam and aem act on the low-level branch: set '
                'with_low_level=True or set low_pam=None and aem=None')
        unknown = set(branch_loss_weights) - set(BRANCHES)
        if unknown:
            raise ValueError(f'branch_loss_weights takes keys {BRANCHES}, '
                             f'got {sorted(unknown)}')
        if any(w < 0 for w in branch_loss_weights.values()):
            raise ValueError('branch_loss_weights must be >= 0, got '
                             f'{branch_loss_weights}')
        if any(branch_loss_weights.values()) and not (with_low_level
                                                      and fusion == 'sum'):
            raise ValueError(
                'branch_loss_weights need the per-branch classifiers of '
                'with_low_level=True and fusion="sum"')
        if 'branch_loss_decay_power' in kwargs:
            raise ValueError(
                'branch_loss_decay_power is now a hook: add custom_hooks = '
                "[dict(type='BranchLossDecayHook', power="
                f"{kwargs['branch_loss_decay_power']})] to the config")

    def _reduction(self, in_channels: int, out_channels: int) -> ConvModule:
        return ConvModule(
            in_channels,
            out_channels,
            1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    @staticmethod
    def _build_optional(cfg: OptConfigType, **channels) -> Optional[nn.Module]:
        return None if cfg is None else MODELS.build({**cfg, **channels})

    def _forward_feature(
            self, inputs: List[Tensor]) -> Tuple[Tensor, Optional[Tensor]]:
        """Run both branches up to their classifiers.

        Returns:
            tuple[Tensor, Tensor | None]: High-level features (N, channels,
            H_h, W_h) and low-level features (N, low_channels, H_l, W_l), or
            None without the low-level branch.
        """
        low, high = self._transform_inputs(inputs)
        high = self.high_reduce(high)
        if self.high_pam is not None:
            high = self.high_pam(high)
        if not self.with_low_level:
            return high, None
        low = self.low_reduce(low)
        if self.low_pam is not None:
            low = self.low_pam(low)
        if self.aem is not None:
            low = self.aem(high.detach() if self.detach_aem_input else high,
                           low)
        return high, low

    def _classify(self, feat: Tensor, classifier: nn.Module) -> Tensor:
        if self.dropout is not None:
            feat = self.dropout(feat)
        return classifier(feat)

    def forward_branches(self, inputs: List[Tensor]) -> Dict[str, Tensor]:
        """Logits of the head and, with ``fusion='sum'``, of each branch.

        Returns:
            dict[str, Tensor]: ``'fused'`` (the head's output) and, with the
            two classifiers, ``'high'`` and ``'low'`` with ``fused = high +
            low``; all of shape (N, num_classes, H, W) at the output size.
        """
        device = inputs[self.in_index[0]].device.type
        # (Autocast exists for some device types only, e.g. not 'meta'.)
        if (self.float32_under_amp and torch.amp.is_autocast_available(device)
                and torch.is_autocast_enabled(device)):
            selected = set(self.in_index)
            inputs = [x.float() if i in selected else x
                      for i, x in enumerate(inputs)]
            with torch.autocast(device, enabled=False):
                return self._forward_branches(inputs)
        return self._forward_branches(inputs)

    def _forward_branches(self, inputs: List[Tensor]) -> Dict[str, Tensor]:
        high, low = self._forward_feature(inputs)
        if low is None:
            return dict(fused=self.cls_seg(high))
        high = resize(
            high if self.fusion == 'concat' else self.cls_seg(high),
            size=low.shape[2:],
            mode='bilinear',
            align_corners=self.align_corners)
        if self.fusion == 'concat':
            return dict(fused=self.cls_seg(torch.cat([high, low], dim=1)))
        low = self._classify(low, self.conv_seg_low)
        return dict(fused=high + low, high=high, low=low)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Segmentation logits, (N, num_classes, H_l, W_l) (see class doc)."""
        return self.forward_branches(inputs)['fused']

    def loss(self, inputs: Tuple[Tensor], batch_data_samples: SampleList,
             train_cfg: ConfigType) -> dict:
        """Forward and compute the losses, branch terms included."""
        return self.loss_by_feat(
            self.forward_branches(inputs), batch_data_samples)

    def loss_by_feat(self, seg_logits: Union[Tensor, Dict[str, Tensor]],
                     batch_data_samples: SampleList) -> dict:
        """Compute ``L(fused)`` plus the weighted branch losses.

        Args:
            seg_logits (Tensor | dict[str, Tensor]): The fused logits, or
                the output of :meth:`forward_branches`.
            batch_data_samples (list[:obj:`SegDataSample`]): With
                ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: The base head's losses and ``acc_seg`` on the
            fused logits, plus ``{loss_name}_high`` / ``{loss_name}_low`` for
            every branch whose weight is not 0 (already weighted, times
            ``branch_loss_scale``).
        """
        if isinstance(seg_logits, Tensor):
            return super().loss_by_feat(seg_logits, batch_data_samples)
        losses = super().loss_by_feat(seg_logits['fused'], batch_data_samples)
        weighted = {b: w for b, w in self.branch_loss_weights.items() if w}
        if not weighted:
            return losses
        for branch, weight in weighted.items():
            branch_losses = super().loss_by_feat(seg_logits[branch],
                                                 batch_data_samples)
            for name, value in branch_losses.items():
                if name.startswith('loss'):
                    losses[f'{name}_{branch}'] = (
                        weight * self.branch_loss_scale * value)
        return losses
