"""Initialise a multi-band stem convolution from RGB-pretrained filters.

ISPRS inputs have 4 (Vaihingen: NIR, R, G, DSM) or 5 (Potsdam: R, G, B, NIR,
nDSM) bands while the usual ImageNet checkpoints have a 3-band stem. MMSeg's
loader skips a stem whose shape does not match (with a size-mismatch
warning), leaving it random; the LANet authors' code copies some filters to
the extra bands but leaves the RGB filters random. Here, whenever a
checkpoint with a 3-band R, G, B stem is loaded into a stem with other bands
(``init_cfg=dict(type='Pretrained')``, ``load_from``, ``load_checkpoint``,
``load_state_dict``), the stem weight is rebuilt band by band:

* every input band names its source in ``band_filters`` (per band, or by
  band name): ``'R'``, ``'G'`` or ``'B'`` copies that pretrained filter,
  ``'mean'`` takes the mean of the three, ``'zero'`` starts the band at
  zero (no effect until trained);
* with ``rescale`` the whole weight is multiplied by ``3 / k``, k being the
  number of non-zero bands, so that the stem's summed input weight keeps
  the scale it had over three bands (the convention of timm's
  ``adapt_input_conv``).

The mapping belongs in the config. By band name it serves every data set:
``dict(R='R', G='G', B='B', NIR='R', DSM='mean', nDSM='mean')`` gives
Potsdam (R, G, B, NIR, nDSM) ``('R', 'G', 'B', 'R', 'mean')`` and Vaihingen
(NIR, R, G, DSM) ``('R', 'R', 'G', 'mean')``: the bands that exist in RGB
keep their filter, NIR takes the nearest-wavelength (red) filter and the
height band the mean filter.

A multi-band stem records its band names in the checkpoints it saves, so a
3-band non-RGB model (e.g. NIR, R, G) reloads its own weights unchanged; a
3-band checkpoint without that record (torchvision, mmcls, MMSeg) is taken
to hold R, G, B. The record is state-dict metadata: a checkpoint cut to a
sub-module by ``Pretrained``'s ``prefix`` loses it (mmengine rebuilds the
dict), so there a 3-band non-RGB checkpoint is again taken for RGB.
"""
import warnings
from typing import Mapping, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from torch import Tensor, nn

RGB = ('R', 'G', 'B')
FILTER_SOURCES = RGB + ('mean', 'zero')
# Key of the stem's band names in the state dict metadata of its conv.
BANDS_KEY = 'band_names'


def check_band_filters(band_filters: Union[Sequence[str], Mapping[str, str]],
                       band_names: Optional[Sequence[str]] = None,
                       in_channels: Optional[int] = None
                       ) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """Validate the band mapping of a stem.

    Args:
        band_filters (Sequence[str] | Mapping[str, str]): The source of each
            input band, one of :data:`FILTER_SOURCES`: either per band, in
            band order, or by band name (e.g. ``dict(R='R', NIR='R',
            DSM='mean')``; needs ``band_names``, unused names are ignored).
        band_names (Sequence[str], optional): Per input band, its name.
            Default: ``band0``, ``band1``... (sequence ``band_filters`` only).
        in_channels (int, optional): A band count given separately (the
            backbone's ``in_channels``); must equal the number of bands.

    Returns:
        tuple: ``(band_filters, band_names)`` as tuples, in band order.
    """
    if isinstance(band_filters, Mapping):
        if band_names is None:
            raise ValueError('band_filters given by band name need '
                             'band_names, the input bands in order')
        missing = [name for name in band_names if name not in band_filters]
        if missing:
            raise ValueError(f'band_filters has no entry for band(s) '
                             f'{missing} of band_names {tuple(band_names)}')
        band_filters = [band_filters[name] for name in band_names]
    band_filters = tuple(band_filters)
    if not band_filters:
        raise ValueError('band_filters must name one filter per input band, '
                         'got an empty sequence')
    bad = [f for f in band_filters if f not in FILTER_SOURCES]
    if bad:
        raise ValueError(f'band_filters entries must be in {FILTER_SOURCES}, '
                         f'got {bad}')
    if band_names is None:
        band_names = tuple(f'band{i}' for i in range(len(band_filters)))
    band_names = tuple(band_names)
    if len(band_names) != len(band_filters):
        raise ValueError(
            f'band_names {band_names} and band_filters {band_filters} must '
            'have one entry per input band')
    if in_channels is not None and in_channels != len(band_filters):
        raise ValueError(
            f'in_channels={in_channels} does not match the '
            f'{len(band_filters)} input bands of band_filters {band_filters}')
    return band_filters, band_names


def expand_rgb_filters(weight: Tensor,
                       band_filters: Sequence[str],
                       rescale: bool = True) -> Tensor:
    """Build a multi-band stem weight from a 3-band (R, G, B) one.

    Args:
        weight (Tensor): RGB weight, shape (C_out, 3, k_h, k_w), input
            channels in R, G, B order.
        band_filters (Sequence[str]): Source of each output band, see
            :data:`FILTER_SOURCES`.
        rescale (bool): Multiply by ``3 / k`` (k: non-zero bands).

    Returns:
        Tensor: Shape (C_out, len(band_filters), k_h, k_w).
    """
    if weight.dim() != 4 or weight.shape[1] != 3:
        raise ValueError('expected an RGB stem weight of shape '
                         f'(C_out, 3, kh, kw), got {tuple(weight.shape)}')
    sources = {name: weight[:, i] for i, name in enumerate(RGB)}
    sources['mean'] = weight.mean(dim=1)
    sources['zero'] = torch.zeros_like(weight[:, 0])
    expanded = torch.stack([sources[f] for f in band_filters], dim=1)
    nonzero = sum(f != 'zero' for f in band_filters)
    if rescale and nonzero:
        expanded = expanded * (3. / nonzero)
    return expanded


def attach_rgb_stem_init(conv: nn.Conv2d,
                         band_filters: Sequence[str],
                         band_names: Sequence[str],
                         rescale: bool = True) -> None:
    """Make ``conv`` accept 3-band RGB checkpoints by expanding their weight.

    Registers two hooks on ``conv``:

    * on save, the band names are recorded in the state dict's metadata
      (``state_dict._metadata[<conv prefix>]['band_names']``, kept by
      ``torch.save`` and by mmengine's checkpoints), so that a checkpoint
      saved by a multi-band model says which bands its stem holds;
    * on load, an incoming ``weight`` with 3 input channels is replaced by
      :func:`expand_rgb_filters` before PyTorch compares shapes, but only
      when it holds the pretrained R, G, B bands: no band record (a
      torchvision, mmcls or MMSeg checkpoint) or a record of
      ``('R', 'G', 'B')``. A record of this model's own bands loads
      unchanged (``test.py``, ``--resume``, ``load_from`` of a 3-band
      non-RGB model), as does a record of other bands (with a warning).
    """
    band_filters, band_names = check_band_filters(
        band_filters, band_names, in_channels=conv.in_channels)
    if band_filters == RGB:
        return

    def record_bands(module, state_dict, prefix, local_metadata):
        local_metadata[BANDS_KEY] = band_names

    def expand_rgb_weight(state_dict, prefix, local_metadata, *args):
        key = prefix + 'weight'
        weight = state_dict.get(key)
        if weight is None or weight.dim() != 4 or weight.shape[1] != 3:
            return
        saved_bands = local_metadata.get(BANDS_KEY)
        if saved_bands is not None:
            saved_bands = tuple(saved_bands)
            if saved_bands == band_names:
                return
            if saved_bands != RGB:
                warnings.warn(
                    f"{key}: the checkpoint's stem was saved for bands "
                    f'{saved_bands}, this model has {band_names}; loaded '
                    'unchanged (only an RGB stem is re-mapped)')
                return
        state_dict[key] = expand_rgb_filters(weight, band_filters, rescale)
        mapping = ', '.join(f'{name}<-{src}'
                            for name, src in zip(band_names, band_filters))
        print_log(
            f'{key}: expanded the 3-band (RGB) pretrained stem to '
            f'{len(band_filters)} bands ({mapping}, rescale={rescale})',
            logger='current')

    conv._register_state_dict_hook(record_bands)
    conv._register_load_state_dict_pre_hook(expand_rgb_weight)


def check_input_bands(x: Tensor, band_names: Sequence[str],
                      owner: str) -> None:
    """Fail with a clear message if ``x`` has the wrong band count."""
    if x.dim() != 4 or x.shape[1] != len(band_names):
        raise ValueError(
            f'{owner} expects input of shape (N, {len(band_names)}, H, W) '
            f'with bands {tuple(band_names)}, got {tuple(x.shape)}; check '
            'the data set bands against backbone.band_filters')
