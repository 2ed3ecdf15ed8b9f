"""Export a trained segmentor to ONNX: raw bands in, logits at the input
size out, the config's normalisation inside the graph and what a map needs
in the file's metadata (the contract is in :mod:`.metadata`)."""
import contextlib
import os
import os.path as osp
import tempfile
import sys
import time
import warnings
from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from ..version import __version__
from .check import (DEFAULT_CHECK_SIZES, MAX_LOGIT_DIFF, MIN_AGREEMENT,
                    check_export)
from .metadata import (FORMAT_VERSION, HEIGHT_STATS_NAME, INPUT_NAME,
                       METADATA_KEY, OUTPUT_NAME, dump_metadata, open_session)
from .traceable import make_traceable

#: Opset written by default (onnxruntime >= 1.12 runs it).
DEFAULT_OPSET = 17


def input_rule(spec) -> Tuple[List[float], List[float], Optional[dict]]:
    """Raw-value statistics per band and the height rule of a model's
    input (see :mod:`.metadata`, "Normalisation done by the graph").

    Args:
        spec (InputSpec): The config's bands and statistics
            (:meth:`mmseg_lanet.inference.input_spec.InputSpec.from_config`).

    Returns:
        tuple: ``mean``, ``std`` (None for a per-tile height band) and the
        ``ndsm`` metadata (None without a height band).
    """
    mean, std = list(spec.mean), list(spec.std)
    index = spec.height_index
    if index is None:
        return mean, std, None
    height = dict(band=spec.bands[index], mode=spec.dsm_mode or 'none',
                  then_mean=mean[index], then_std=std[index])
    if spec.dsm_mode == 'global':
        height.update(mean=spec.dsm_mean, std=spec.dsm_std)
        # ((h - mean_h) / std_h - m) / s == (h - (mean_h + m std_h)) /
        # (std_h s): one affine map per band.
        mean[index] = spec.dsm_mean + mean[index] * spec.dsm_std
        std[index] = spec.dsm_std * std[index]
    elif spec.dsm_mode == 'per_tile':
        height.update(min_std=spec.dsm_min_std)
        mean[index] = std[index] = None
    return mean, std, height


class DeployableSegmentor(nn.Module):
    """A segmentor as the exported graph runs it: raw bands are normalised
    (per band, height statistics folded in), then the segmentor's
    ``encode_decode`` gives the logits at the input size.

    The layers that would freeze sizes under tracing are swapped for
    exportable ones with the same eager outputs (:func:`.make_traceable`).

    Args:
        segmentor (nn.Module): An MMSeg ``EncoderDecoder`` in eval mode
            (changed in place as said).
        band_mean, band_std (Sequence[float | None]): From
            :func:`input_rule`; None for a per-tile height band.
        height (dict, optional): The ``ndsm`` rule of :func:`input_rule`.

    Shapes:
        - bands: (N, C, H, W) raw values
        - height_stats: (2,) for a per-tile height rule, else not given
        - output: (N, K, H, W) logits
    """

    def __init__(self, segmentor: nn.Module,
                 band_mean: Sequence[Optional[float]],
                 band_std: Sequence[Optional[float]],
                 height: Optional[dict] = None):
        super().__init__()
        make_traceable(segmentor)
        self.segmentor = segmentor
        self.per_tile = height is not None and height['mode'] == 'per_tile'
        tile_band = [float(m is None) for m in band_mean]
        self.register_buffer(
            'mean', self._per_band([m or 0. for m in band_mean]), False)
        self.register_buffer(
            'std', self._per_band([s or 1. for s in band_std]), False)
        self.register_buffer('tile_band', self._per_band(tile_band), False)
        if self.per_tile:
            self.then = (height['then_mean'], height['then_std'])

    @staticmethod
    def _per_band(values: Sequence[float]) -> Tensor:
        return torch.tensor(values, dtype=torch.float32).view(1, -1, 1, 1)

    def normalise(self, bands: Tensor,
                  height_stats: Optional[Tensor] = None) -> Tensor:
        """The network's input from raw bands, (N, C, H, W)."""
        mean, std = self.mean, self.std
        if self.per_tile:
            tile_mean = height_stats[0] + self.then[0] * height_stats[1]
            tile_std = height_stats[1] * self.then[1]
            mean = mean + self.tile_band * tile_mean
            std = std + self.tile_band * (tile_std - 1.)
        return (bands - mean) / std

    def forward(self, bands: Tensor,
                height_stats: Optional[Tensor] = None) -> Tensor:
        """Logits of raw bands at their size, (N, K, H, W)."""
        if self.per_tile and height_stats is None:
            raise ValueError('this model normalises heights per tile: give '
                             'height_stats (mean, std of the tile)')
        x = self.normalise(bands, height_stats)
        # The size as traced values, so that the resize stays symbolic.
        metas = [dict(img_shape=tuple(bands.shape[-2:]))]
        return self.segmentor.encode_decode(x, metas)


def class_metadata(model: nn.Module) -> Tuple[Optional[list], Optional[list]]:
    """Class names and palette: the checkpoint's ``dataset_meta`` where they
    fit the head, else ISPRS's for a 6-class model, else None."""
    from ..datasets.isprs_classes import ISPRS_CLASSES, ISPRS_PALETTE
    num_classes = model.decode_head.out_channels
    meta = getattr(model, 'dataset_meta', None) or {}
    classes, palette = meta.get('classes'), meta.get('palette')
    if classes is None or len(classes) != num_classes:
        classes = ISPRS_CLASSES if num_classes == len(ISPRS_CLASSES) else None
        palette = ISPRS_PALETTE if classes else None
    if palette is not None and len(palette) != num_classes:
        palette = None
    return (None if classes is None else list(classes),
            None if palette is None else [list(map(int, c)) for c in palette])


def inference_settings(cfg) -> dict:
    """The test mode, window and stride the config tests with."""
    test_cfg = cfg.model.get('test_cfg') or {}
    window = test_cfg.get('crop_size') or cfg.get('crop_size')
    stride = test_cfg.get('stride')
    return dict(test_mode=test_cfg.get('mode', 'whole'),
                window=None if window is None else list(window),
                stride=None if stride is None else list(stride))


def deploy_metadata(cfg, model: nn.Module, spec, opset: int,
                    shape: Optional[Sequence[int]]) -> dict:
    """The metadata of an export (see :mod:`.metadata`)."""
    band_mean, band_std, height = input_rule(spec)
    classes, palette = class_metadata(model)
    name = osp.splitext(osp.basename(cfg.filename or 'config'))[0]
    return dict(
        format_version=FORMAT_VERSION,
        package_version=__version__,
        config=name,
        opset=opset,
        input_size='dynamic' if shape is None else list(shape),
        output_size='input',
        bands=list(spec.bands),
        mean=band_mean,
        std=band_std,
        ndsm=height,
        num_classes=model.decode_head.out_channels,
        classes=classes,
        palette=palette,
        **inference_settings(cfg))


def _unsupported_op(error: Exception) -> str:
    """The operator an exporter error names and its first sentence."""
    import re
    text = ' '.join(str(error).split()) or repr(error)
    first = re.split(r'(?<=[.!?]) ', text)[0]
    found = re.search(r"(aten::\w+|operator '?([\w:.]+)'?)", text)
    if found is None:
        return first
    op = found.group(2) or found.group(1)
    return f'operator {op} ({first})'


@contextlib.contextmanager
def _output_on_success():
    """Hold back what the process writes to its stdout and stderr (file
    descriptors 1 and 2, C++ included) and replay it unless the block
    raises: the TorchScript exporter prints its whole graph before it
    raises, which would bury the one-line error."""
    held = []
    for fd, stream in ((1, sys.stdout), (2, sys.stderr)):
        stream.flush()
        held.append((fd, stream, os.dup(fd), tempfile.TemporaryFile()))
        os.dup2(held[-1][3].fileno(), fd)
    failed = True
    try:
        yield
        failed = False
    finally:
        for fd, stream, saved, temp in held:
            stream.flush()
            os.dup2(saved, fd)
            os.close(saved)
            if not failed:
                temp.seek(0)
                os.write(fd, temp.read())
            temp.close()


def trace_to_onnx(deployable: DeployableSegmentor, path: str, bands: int,
                  opset: int, shape: Optional[Sequence[int]],
                  probe: Tuple[int, int] = (64, 64)) -> None:
    """Write ``deployable``'s graph to ``path`` with the TorchScript
    exporter; batch, and unless ``shape`` fixes them height and width,
    symbolic.

    Raises:
        ValueError: Naming the operator the exporter cannot write.
    """
    size = tuple(shape) if shape is not None else probe
    example = (torch.zeros(1, bands, *size), )
    names = [INPUT_NAME]
    if deployable.per_tile:
        example += (torch.tensor([0., 1.]), )
        names.append(HEIGHT_STATS_NAME)
    axes = {0: 'batch'} if shape is not None else {
        0: 'batch', 2: 'height', 3: 'width'}
    try:
        with torch.no_grad(), warnings.catch_warnings(), \
                _output_on_success():
            # Shape checks of the model (band count, batch sizes) become
            # constants of the trace; the checker runs other sizes.
            warnings.simplefilter('ignore', torch.jit.TracerWarning)
            torch.onnx.export(
                deployable, example, path, dynamo=False,
                opset_version=opset, input_names=names,
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes})
    except Exception as err:  # the exporter raises many types
        raise ValueError(f'cannot export to ONNX: '
                         f'{_unsupported_op(err)}') from None


def write_metadata(path: str, metadata: dict) -> None:
    """Store ``metadata`` in the ONNX file ``path`` (rewritten in place)."""
    import onnx
    model = onnx.load(path)
    del model.metadata_props[:]
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, dump_metadata(metadata)
    onnx.save(model, path)


def export_onnx(config: Union[str, object],
                checkpoint: str,
                out: str,
                shape: Optional[Sequence[int]] = None,
                opset: int = DEFAULT_OPSET,
                check_sizes: Sequence[Tuple[int, int]] = DEFAULT_CHECK_SIZES,
                batch_size: int = 1,
                max_diff: float = MAX_LOGIT_DIFF,
                min_agreement: float = MIN_AGREEMENT,
                log=print) -> dict:
    """Export a trained segmentor to ``out`` and check it.

    The graph is written under a temporary name beside ``out``, checked
    against PyTorch by :func:`~.check.check_export` on each of
    ``check_sizes`` (only ``shape`` when it is fixed), given its metadata
    (with the checker's figures) and only then renamed to ``out``: a model
    that fails leaves no file.

    Args:
        config (str | Config): The model's config.
        checkpoint (str): Its checkpoint.
        out (str): The ``.onnx`` file to write.
        shape (Sequence[int], optional): A fixed input ``(H, W)``; None for
            symbolic height and width. Defaults to None.
        opset (int): ONNX opset. Defaults to :data:`DEFAULT_OPSET`.
        check_sizes (Sequence[tuple[int, int]]): Input sizes checked.
        batch_size (int): Images per checked input. Defaults to 1.
        max_diff (float): Largest logit difference accepted.
        min_agreement (float): Smallest fraction of equal labels accepted.
        log (callable): Where the figures are printed.

    Returns:
        dict: The metadata written (``checks``: the figures per size,
        ``export_seconds``).

    Raises:
        ValueError: One line naming the config or the file: a model that
            cannot be exported (naming the operator), a graph onnxruntime
            cannot run, or one that fails the check (with its figures).
    """
    from mmengine.config import Config
    from ..inference.input_spec import InputSpec
    from ..apis.segmentor_loading import load_segmentor
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    name = cfg.filename or 'config'
    if shape is not None:
        shape = tuple(int(s) for s in shape)
        if len(shape) != 2 or min(shape) <= 0:
            raise ValueError(f'--shape takes H W, got {shape}')
        check_sizes = [shape]
    if not osp.isdir(osp.dirname(osp.abspath(out))):
        raise FileNotFoundError(
            f'output folder not found: {osp.dirname(osp.abspath(out))}')
    spec = InputSpec.from_config(cfg)
    model = load_segmentor(cfg, checkpoint, 'cpu')
    metadata = deploy_metadata(cfg, model, spec, opset, shape)
    deployable = DeployableSegmentor(model, metadata['mean'],
                                     metadata['std'],
                                     metadata['ndsm']).eval()
    handle, temp = tempfile.mkstemp(
        suffix='.onnx.part', prefix=osp.basename(out) + '.',
        dir=osp.dirname(osp.abspath(out)))
    os.close(handle)
    try:
        start = time.perf_counter()
        try:
            trace_to_onnx(deployable, temp, len(spec.bands), opset, shape)
        except ValueError as err:
            raise ValueError(f'{name}: {err}') from None
        metadata['export_seconds'] = round(time.perf_counter() - start, 2)
        log(f'exported {name} in {metadata["export_seconds"]:.1f} s '
            f'(opset {opset}, input '
            f'{"dynamic" if shape is None else shape})')
        write_metadata(temp, metadata)
        try:
            session, _ = open_session(temp)
        except ValueError as err:  # e.g. an opset beyond onnxruntime here
            raise ValueError(str(err).replace(temp, out)) from None
        metadata['checks'] = check_export(
            session, model, spec, check_sizes, batch_size, max_diff,
            min_agreement, log, name=out)
        write_metadata(temp, metadata)
        # mkstemp's file is private (0600); the model gets a new file's mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, out)
    finally:
        if osp.exists(temp):
            os.remove(temp)
    log(f'wrote {out}')
    return metadata
