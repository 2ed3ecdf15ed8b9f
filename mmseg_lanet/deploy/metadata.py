"""What an exported LANet ONNX file promises, and its torch-free reader.

This module imports only the standard library at the top and onnxruntime
inside :func:`open_session`, so that a machine with just numpy,
onnxruntime and rasterio can open a model (no torch, mmcv, mmengine or
mmseg).

The contract between :mod:`mmseg_lanet.deploy.export` (writer) and the
onnxruntime predictor (reader), format version 1:

Graph inputs
    ``bands``: float32 (N, C, H, W), the model's bands in the order of
    ``metadata['bands']``, raw values as the rasters store them (8-bit
    colours cast to float, heights as they are). The graph normalises them
    itself. H and W are symbolic unless ``metadata['input_size']`` is a
    fixed ``[H, W]``; N is always symbolic.

    ``height_stats`` (only when ``metadata['ndsm']['mode'] ==
    'per_tile'``): float32 (2,), the mean and standard deviation of the
    whole raster's valid heights, the std already floored at
    ``metadata['ndsm']['min_std']`` (what ``NormalizeDSM(mode='per_tile')``
    computes from the tile).

Graph output
    ``logits``: float32 (N, K, H, W), at the input size
    (``metadata['output_size'] == 'input'``), K = ``num_classes``.

Normalisation done by the graph
    Each band ``b`` becomes ``(x - mean[b]) / std[b]``, with ``mean`` and
    ``std`` the raw-value statistics: the config's ``data_preprocessor``
    mean/std, and for the height band under a 'global' rule the
    ``NormalizeDSM`` statistics folded in (``mean_h + m * std_h`` and
    ``std_h * s`` for preprocessor statistics ``m``, ``s``). Under a
    'per_tile' rule the height band's ``mean``/``std`` are null and the
    graph folds ``height_stats`` in their place the same way
    (``then_mean``/``then_std`` in ``metadata['ndsm']`` are ``m``, ``s``).
    A nodata pixel filled with its band's raw mean thus enters the network
    as 0, as PyTorch's path gives it.

Metadata
    ``metadata_props`` key ``mmseg_lanet`` holds one JSON object:
    ``format_version``, ``package_version``, ``config`` (its name),
    ``opset``, ``input_size`` ('dynamic' or ``[H, W]``), ``output_size``,
    ``bands``, ``mean``, ``std``, ``ndsm`` (null without a height band;
    else ``band``, ``mode`` 'global', 'per_tile' or 'none' (no
    ``NormalizeDSM``), the height statistics ``mean``/``std`` for
    'global', ``min_std`` for 'per_tile', ``then_mean`` and ``then_std``),
    ``num_classes``, ``classes``, ``palette`` (RGB per
    class, or null), ``test_mode`` ('whole', 'slide' or 'blend'),
    ``window`` and ``stride`` (``[H, W]`` the config tests with, stride
    null when it names none), and ``checks`` (the export checker's figures
    per size).
"""
import json
import os.path as osp
import re
from typing import Optional, Sequence, Tuple

#: ``metadata_props`` key of the JSON metadata.
METADATA_KEY = 'mmseg_lanet'
#: The format written; readers refuse other versions.
FORMAT_VERSION = 1
#: Graph input and output names.
INPUT_NAME = 'bands'
HEIGHT_STATS_NAME = 'height_stats'
OUTPUT_NAME = 'logits'
#: Keys every version-1 file has.
REQUIRED_KEYS = ('format_version', 'bands', 'mean', 'std', 'ndsm',
                 'num_classes', 'classes', 'palette', 'test_mode',
                 'window', 'stride', 'input_size', 'output_size')


def dump_metadata(metadata: dict) -> str:
    """The JSON string stored under :data:`METADATA_KEY`."""
    missing = [k for k in REQUIRED_KEYS if k not in metadata]
    if missing:
        raise KeyError(f'deploy metadata lacks {missing}')
    return json.dumps(metadata, sort_keys=True)


def parse_metadata(props: dict, path: str) -> dict:
    """Our metadata from a model's ``metadata_props``.

    Args:
        props (dict[str, str]): The model's metadata properties.
        path (str): The model file, for messages.

    Returns:
        dict: The decoded metadata (see the module docstring).

    Raises:
        ValueError: One line naming ``path``, when the model has no
            ``mmseg_lanet`` metadata (not exported by this package), when
            it is not JSON of the expected shape, or when its format
            version is not :data:`FORMAT_VERSION`.
    """
    if METADATA_KEY not in props:
        raise ValueError(
            f'{path}: an ONNX model without mmseg_lanet metadata (not '
            'exported by tools/deployment/export_onnx.py); metadata keys: '
            f'{sorted(props) or "none"}')
    try:
        metadata = json.loads(props[METADATA_KEY])
    except json.JSONDecodeError as err:
        raise ValueError(f'{path}: mmseg_lanet metadata is not JSON '
                         f'({err})') from None
    if not isinstance(metadata, dict):
        raise ValueError(f'{path}: mmseg_lanet metadata is not a JSON '
                         'object')
    version = metadata.get('format_version')
    if version != FORMAT_VERSION:
        raise ValueError(
            f'{path}: mmseg_lanet metadata format version {version!r}, this '
            f'mmseg_lanet reads version {FORMAT_VERSION}; export the model '
            'again with this version, or predict with the version that '
            'exported it')
    missing = [k for k in REQUIRED_KEYS if k not in metadata]
    if missing:
        raise ValueError(f'{path}: mmseg_lanet metadata lacks {missing}')
    return metadata


def _runtime_message(error: Exception, path: str) -> str:
    """onnxruntime's load error without its code, path and C++ location."""
    text = str(error).split('failed:', 1)[-1]
    # "/onnxruntime_src/...h:46 void f(const T&, int) Message": drop the
    # source location and the function's signature.
    text = re.sub(r'^\s*/\S+:\d+ [^)]*\)\s*', '', text)
    return ' '.join(text.split())


def open_session(path: str,
                 providers: Optional[Sequence[str]] = None,
                 options=None) -> Tuple[object, dict]:
    """An onnxruntime session of an exported model, and its metadata.

    Args:
        path (str): The ``.onnx`` file.
        providers (Sequence[str], optional): onnxruntime execution
            providers. Defaults to CPU.
        options (onnxruntime.SessionOptions, optional): Session options
            (threads...).

    Returns:
        tuple: (``onnxruntime.InferenceSession``, metadata dict).

    Raises:
        FileNotFoundError: No such file.
        ValueError: One line naming ``path``: not an ONNX model, a model
            onnxruntime cannot load here (e.g. an opset beyond it), or one
            without our metadata (:func:`parse_metadata`).
    """
    import onnxruntime as ort
    if not osp.isfile(path):
        raise FileNotFoundError(f'ONNX model not found: {path}')
    try:
        session = ort.InferenceSession(
            path, sess_options=options,
            providers=list(providers or ['CPUExecutionProvider']))
    except Exception as err:  # onnxruntime's errors share no base class
        name = type(err).__name__
        message = _runtime_message(err, path)
        if name == 'InvalidProtobuf' or 'No graph was found' in message:
            raise ValueError(f'{path}: not an ONNX model ({message})') \
                from None
        raise ValueError(f'{path}: onnxruntime {ort.__version__} cannot '
                         f'load this model: {message}') from None
    props = session.get_modelmeta().custom_metadata_map
    return session, parse_metadata(props, path)


def read_metadata(path: str) -> dict:
    """The metadata of an exported model (see the module docstring), with
    the errors of :func:`open_session`."""
    return open_session(path)[1]
