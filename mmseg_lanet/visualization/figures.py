"""LANet's branch predictions and confusion matrices as PNG figures."""
import os
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from mmseg.models.utils import resize
from ..datasets.isprs_classes import IGNORE_INDEX, ISPRS_PALETTE

# Panel titles of the branch figure, in drawing order.
BRANCH_PANELS = dict(
    high='high level, before PAM', high_pam='high level, after PAM',
    low='low level, before PAM', low_pam='low level, after PAM',
    low_aem='low level, after PAM and AEM', fused='LANet output')


@torch.no_grad()
def branch_predictions(model: torch.nn.Module, images: Tensor
                       ) -> Dict[str, Tensor]:
    """Class maps of each LANet branch before and after its attention
    modules, from the branch's own classifier (the paper's figures 5 and 6).

    The head's modules are run in its order without changing it: a
    branch's features go through its classifier before and after PAM
    (and AEM), and the fused output is the head's own.

    Args:
        model (torch.nn.Module): A segmentor whose decode head is a
            :class:`LANetHead` with the two classifiers (``fusion='sum'``).
        images (Tensor): (N, C, H, W) normalised input.

    Returns:
        dict[str, Tensor]: Keys of ``BRANCH_PANELS`` present in the head
        (no ``*_pam``/``low_aem`` without the module), each (N, H, W) class
        indices at the input size.
    """
    head = model.decode_head
    if not (head.with_low_level and head.fusion == 'sum'):
        raise ValueError('branch_predictions needs a LANetHead with the '
                         "low-level branch and fusion='sum'")
    low, high = head._transform_inputs(model.extract_feat(images))
    logits = {}
    high = head.high_reduce(high)
    logits['high'] = head.cls_seg(high)
    if head.high_pam is not None:
        high = head.high_pam(high)
        logits['high_pam'] = head.cls_seg(high)
    low = head.low_reduce(low)
    logits['low'] = head._classify(low, head.conv_seg_low)
    if head.low_pam is not None:
        low = head.low_pam(low)
        logits['low_pam'] = head._classify(low, head.conv_seg_low)
    if head.aem is not None:
        low = head.aem(high, low)
        logits['low_aem'] = head._classify(low, head.conv_seg_low)
    shape = tuple(images.shape[2:])
    logits['fused'] = model.encode_decode(
        images, [dict(img_shape=shape)] * images.shape[0])
    return {
        key: resize(value, size=shape, mode='bilinear',
                    align_corners=head.align_corners).argmax(1)
        for key, value in logits.items()
    }


def colourise(labels: np.ndarray,
              palette: Sequence[Sequence[int]] = ISPRS_PALETTE) -> np.ndarray:
    """(H, W) class indices -> (H, W, 3) uint8 RGB; ignored pixels black."""
    colours = np.zeros((256, 3), np.uint8)
    colours[:len(palette)] = palette
    return colours[labels.astype(np.uint8)]


def _save(figure, path: str) -> None:
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    figure.savefig(path, dpi=100, bbox_inches='tight')


def plot_branch_figure(path: str,
                       rgb: np.ndarray,
                       predictions: Dict[str, np.ndarray],
                       label: Optional[np.ndarray] = None,
                       class_names: Sequence[str] = (),
                       title: str = '') -> None:
    """Draw image, reference and branch predictions in one PNG.

    Args:
        path (str): Output PNG.
        rgb (np.ndarray): (H, W, 3) uint8 picture of the tile.
        predictions (dict[str, np.ndarray]): (H, W) maps keyed as
            ``BRANCH_PANELS`` (e.g. from :func:`branch_predictions`).
        label (np.ndarray, optional): (H, W) reference, 255 ignored.
        class_names (Sequence[str]): For the legend.
        title (str): Figure title.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    panels = [('image', rgb)]
    if label is not None:
        panels.append(('reference', colourise(label)))
    panels += [(BRANCH_PANELS[k], colourise(predictions[k]))
               for k in BRANCH_PANELS if k in predictions]
    cols = 4
    rows = -(-len(panels) // cols)
    figure, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.4 * rows))
    for ax in np.ravel(axes):
        ax.axis('off')
    for ax, (name, picture) in zip(np.ravel(axes), panels):
        ax.imshow(picture, interpolation='nearest')
        ax.set_title(name, fontsize=9)
    if class_names:
        figure.legend(
            handles=[Patch(color=np.asarray(c) / 255, label=n, ec='k')
                     for n, c in zip(class_names, ISPRS_PALETTE)],
            loc='lower center', ncol=len(class_names), fontsize=8)
    figure.suptitle(title, fontsize=10)
    _save(figure, path)
    plt.close(figure)


def plot_confusion_matrix(path: str, confusion: np.ndarray,
                          class_names: Sequence[str],
                          title: str = '') -> None:
    """Draw a confusion matrix (rows: reference, columns: prediction),
    each row as percentages of its reference pixels, counts in the cells.

    Args:
        path (str): Output PNG.
        confusion (np.ndarray): (K, K) counts, ``[reference, prediction]``.
        class_names (Sequence[str]): K names.
        title (str): Figure title.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    confusion = np.asarray(confusion, np.float64)
    totals = confusion.sum(1, keepdims=True)
    percent = np.divide(100 * confusion, totals, out=np.zeros_like(confusion),
                        where=totals > 0)
    size = len(class_names)
    figure, ax = plt.subplots(figsize=(1.1 * size + 2, 1.1 * size + 1))
    image = ax.imshow(percent, cmap='Blues', vmin=0, vmax=100)
    for i in range(size):
        for j in range(size):
            ax.text(j, i, f'{percent[i, j]:.1f}\n({int(confusion[i, j])})',
                    ha='center', va='center', fontsize=7,
                    color='white' if percent[i, j] > 50 else 'black')
    ax.set_xticks(range(size), class_names, rotation=45, ha='right')
    ax.set_yticks(range(size), class_names)
    ax.set_xlabel('prediction')
    ax.set_ylabel('reference')
    ax.set_title(title or '% of each reference class (pixel counts)')
    figure.colorbar(image, ax=ax, fraction=0.046)
    _save(figure, path)
    plt.close(figure)




def draw_branch_figure(model: torch.nn.Module, image: str, out: str,
                       dsm: Optional[str] = None,
                       label: Optional[str] = None,
                       file_bands: Optional[Sequence[str]] = None) -> Dict:
    """Read a tile, predict each branch (:func:`branch_predictions`) and
    draw the figure (:func:`plot_branch_figure`) into ``out``.

    Args:
        model (torch.nn.Module): A LANet segmentor with ``cfg``
            (:func:`mmseg_lanet.apis.load_segmentor`).
        image (str): The tile's image raster.
        out (str): Output PNG.
        dsm (str, optional): Its height raster.
        label (str, optional): Its reference (class indices, 255 ignored).
        file_bands (Sequence[str], optional): The image's band names.

    Returns:
        dict[str, np.ndarray]: The (H, W) maps drawn.
    """
    from ..apis import InputSpec, RasterInput
    from ..datasets.raster_io import read_raster
    spec = InputSpec.from_config(model.cfg)
    source = RasterInput(spec, image, file_bands, dsm)
    try:
        pixels, _ = source.read((0, 0, *source.shape))
        raw = source.image.read((0, 0, *source.shape))
        rgb_bands = [f for m, f in source.from_image][:3]
    finally:
        source.close()
    device = next(model.parameters()).device
    maps = {k: v[0].cpu().numpy() for k, v in branch_predictions(
        model, torch.from_numpy(pixels)[None].to(device)).items()}
    reference = None
    if label is not None:
        reference = read_raster(label)
        if reference.shape != source.shape:
            raise ValueError(f'{label}: reference is {reference.shape}, its '
                             f'image {image} is {source.shape}')
    rgb = np.clip(raw[rgb_bands].transpose(1, 2, 0), 0, 255).astype(np.uint8)
    names = (model.dataset_meta or {}).get('classes') or ()
    plot_branch_figure(out, rgb, maps, reference, names,
                       osp.basename(image))
    return maps
