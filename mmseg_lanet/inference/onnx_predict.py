"""Class probabilities of windows from an exported ONNX model run by
onnxruntime: numpy in, numpy out, no torch (``pip install
mmseg-lanet[deploy]``).

The model file is written by ``tools/deployment/export_onnx.py``; what its
graph takes and gives and what its metadata holds is the contract of
:mod:`mmseg_lanet.deploy.metadata`, whose torch-free reader opens it.
"""
import contextlib
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..deploy.metadata import (HEIGHT_STATS_NAME, INPUT_NAME, OUTPUT_NAME,
                               open_session)
from .array_ops import class_probabilities
from .blended_inference import PredictFn


class OnnxSegmentor:
    """An exported LANet opened in onnxruntime, as the map model of
    :func:`mmseg_lanet.apis.predict_raster` (numpy arrays on the host).

    Args:
        path (str): The ``.onnx`` file.
        threads (int, optional): onnxruntime's intra-op threads; None:
            its default (all cores).
        providers (Sequence[str], optional): Execution providers; None:
            the CPU's.

    Attributes:
        metadata (dict): The file's ``mmseg_lanet`` metadata.
        num_classes (int): K, classes the model predicts.

    Raises:
        ImportError: onnxruntime is not installed.
        FileNotFoundError: No such file.
        ValueError: Naming the file (see
            :func:`mmseg_lanet.deploy.metadata.open_session`): not an ONNX
            model, one onnxruntime cannot load here (e.g. its opset), one
            without our metadata.
    """
    device = None

    def __init__(self, path: str, threads: Optional[int] = None,
                 providers: Optional[Sequence[str]] = None) -> None:
        try:
            import onnxruntime
        except ImportError as err:
            raise ImportError(
                f'{path}: predicting with an ONNX model needs onnxruntime '
                '(pip install mmseg-lanet[deploy])') from err
        options = onnxruntime.SessionOptions()
        # Without its arena onnxruntime gives each batch's activations back
        # (LANet R50, 4 windows of 512: peak RSS 579 instead of 744 MiB, the
        # same speed here).
        options.enable_cpu_mem_arena = False
        if threads is not None:
            options.intra_op_num_threads = threads
        self.session, self.metadata = open_session(path, providers, options)
        self.path = path
        self.num_classes = int(self.metadata['num_classes'])
        self.palette = self.metadata.get('palette')

    def input_spec(self):
        """What the graph takes (:class:`~mmseg_lanet.apis.InputSpec`, raw
        bands): its bands in order, the raw mean and std it normalises them
        with, and its height rule (for 'per_tile', the height band's
        statistics after the raster's, which :meth:`predictor` passes in
        as ``height_stats``)."""
        from .input_spec import InputSpec
        meta = self.metadata
        bands, mean, std = tuple(meta['bands']), meta['mean'], meta['std']
        if not len(bands) == len(mean) == len(std):
            raise ValueError(
                f'{self.path}: its metadata gives {len(bands)} bands '
                f'{bands} but {len(mean)} means and {len(std)} stds')
        mean, std = list(mean), list(std)
        ndsm = meta.get('ndsm') or {}
        mode = ndsm.get('mode')
        if mode == 'per_tile':
            height = bands.index(ndsm['band'])
            mean[height], std[height] = ndsm['then_mean'], ndsm['then_std']
        return InputSpec(bands, [float(m) for m in mean],
                         [float(s) for s in std],
                         mode if mode in ('global', 'per_tile') else None,
                         ndsm.get('mean'), ndsm.get('std'),
                         ndsm.get('min_std') or 1.0, raw=True)

    @property
    def window(self) -> Optional[Tuple[int, int]]:
        """The window to predict in: the one of the config exported (its
        metadata), else the graph's fixed size, else None."""
        window = self.metadata.get('window')
        if window is None and None not in self.input_shape[2:]:
            window = self.input_shape[2:]
        return None if window is None else tuple(window)

    @property
    def input_shape(self) -> List[Optional[int]]:
        """The graph's input (N, C, H, W), None for a dynamic axis."""
        return [d if isinstance(d, int) else None
                for d in self.session.get_inputs()[0].shape]

    def check_window(self, window: Sequence[int]) -> None:
        """Raise unless the graph takes windows of ``window`` (h, w): a
        graph exported with a fixed size takes that size only."""
        fixed = self.input_shape[2:]
        if any(f is not None and f != w for f, w in zip(fixed, window)):
            raise ValueError(
                f'{self.path}: takes windows of {fixed[0]} x {fixed[1]} '
                f'only (exported with a fixed size), not {window[0]} x '
                f'{window[1]}; predict in windows of that size (--window '
                f'{fixed[0]} {fixed[1]}, --mode bounded) or export it with '
                'dynamic sizes')

    def logits(self, windows: np.ndarray,
               height_stats: Optional[Sequence[float]] = None) -> np.ndarray:
        """(N, C, h, w) raw bands -> (N, K, h, w) float32 logits.

        A graph exported with a fixed batch size n runs the windows n at a
        time, the last batch padded with copies of its last window.

        Args:
            windows (np.ndarray): Raw bands.
            height_stats (Sequence[float], optional): The raster's height
                mean and (floored) std, for a graph that normalises heights
                per tile (input ``height_stats``).
        """
        self.check_window(windows.shape[2:])
        feeds = {}
        if len(self.session.get_inputs()) > 1:
            if height_stats is None:
                raise ValueError(f'{self.path}: normalises heights per tile'
                                 ' and needs the raster\'s height statistics')
            feeds[HEIGHT_STATS_NAME] = np.asarray(height_stats, np.float32)
        windows = np.ascontiguousarray(windows, np.float32)
        batch = self.input_shape[0]
        if batch is None or batch == len(windows):
            return self.session.run([OUTPUT_NAME],
                                    {INPUT_NAME: windows, **feeds})[0]
        outputs = []
        for start in range(0, len(windows), batch):
            part = windows[start:start + batch]
            padded = np.concatenate(
                [part, np.repeat(part[-1:], batch - len(part), 0)])
            outputs.append(self.session.run(
                [OUTPUT_NAME], {INPUT_NAME: padded, **feeds})[0][:len(part)])
        return np.concatenate(outputs)

    def class_names(self) -> Optional[Sequence[str]]:
        """The metadata's classes (else ISPRS's for 6 classes, else None)."""
        from ..datasets.isprs_classes import known_class_names
        return known_class_names(self.metadata.get('classes'),
                                 self.num_classes)

    def running(self, whole: bool):
        return contextlib.nullcontext()

    def predictor(self, options=None, source=None,
                  flip: bool = False) -> PredictFn:
        """Class probabilities of a batch of windows, with optional flip
        test-time augmentation (:func:`~.array_ops.class_probabilities`).

        Args:
            options (PredictOptions, optional): Its ``tta`` sets ``flip``;
                ``amp``, ``channels_last`` and ``fold_norms`` are PyTorch's
                (refused).
            source (RasterInput, optional): The raster predicted, whose
                height statistics (``dsm_stats``) a graph normalising
                heights per tile takes.
            flip (bool): Without ``options``: flip TTA. Defaults to False.

        Returns:
            callable: (N, C, h, w) raw bands -> (N, K, h, w) float32
            probabilities, numpy arrays.
        """
        if options is not None:
            torch_only = [name for name in ('amp', 'channels_last',
                                            'fold_norms')
                          if getattr(options, name)]
            if torch_only:
                raise ValueError(
                    f'{self.path}: {", ".join(torch_only)} apply to PyTorch '
                    'models, not to an ONNX model')
            flip = options.tta
        height_stats = getattr(source, 'dsm_stats', None)

        def predict(windows: np.ndarray) -> np.ndarray:
            return class_probabilities(
                lambda batch: self.logits(batch, height_stats), windows, flip)

        return predict
