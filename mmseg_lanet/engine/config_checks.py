"""Early, readable errors for the mistakes users make with a config.

Without these, a config that forgot the plugin import fails deep inside the
registry with ``KeyError: 'LANetHead is not in the mmseg::model registry'``,
and a missing data set fails in the first data loader worker. A config that
reads the synthetic sample gets it written instead
(:func:`prepare_synthetic_sample`).
"""
import logging
import os.path as osp
from typing import Iterator, List, Sequence

from mmengine.config import Config
from mmengine.logging import print_log

PLUGIN = 'mmseg_lanet'
IMPORT_LINE = (f"custom_imports = dict(imports=['{PLUGIN}'], "
               'allow_failed_imports=False)')


def is_uri(path) -> bool:
    """Whether ``path`` names a remote or backend location (``https://``,
    ``s3://``, ``open-mmlab://``, ``cluster:s3://``...) rather than a local
    path: mmengine's file backends and checkpoint loaders take any
    ``scheme://`` prefix, so only local paths can be checked up front."""
    return '://' in str(path)


def _iter_types(node) -> Iterator[str]:
    """Yield every ``type`` string of a nested config."""
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield node['type']
        for value in node.values():
            yield from _iter_types(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _iter_types(value)


def plugin_types() -> set:
    """Names registered in mmseg's registries by this plugin."""
    from mmseg import registry
    names = set()
    for attr in dir(registry):
        reg = getattr(registry, attr)
        module_dict = getattr(reg, 'module_dict', None)
        if isinstance(module_dict, dict):
            names.update(name for name, obj in module_dict.items()
                         if obj.__module__.startswith(PLUGIN + '.'))
    return names


def check_plugin_import(cfg: Config) -> None:
    """Raise if ``cfg`` uses this plugin's components without importing it.

    Our tools import the plugin themselves, but MMSeg's own ``tools/train.py``
    and ``tools/test.py`` only see what the config imports, so a config that
    works here must carry the import to work there too.

    Raises:
        ValueError: naming the config file, the plugin types it uses and the
            line to add.
    """
    imports = (cfg.get('custom_imports') or {}).get('imports', [])
    if isinstance(imports, str):
        imports = [imports]
    if any(name == PLUGIN or name.startswith(PLUGIN + '.')
           for name in imports):
        return
    used = sorted(set(_iter_types(cfg.to_dict())) & plugin_types())
    if used:
        raise ValueError(
            f'{cfg.filename or "the config"} uses {", ".join(used)} from '
            f'{PLUGIN} but does not import it. Add\n    {IMPORT_LINE}\n'
            'to the config (or inherit configs/_base_/default_runtime.py).')


def check_data_roots(cfg: Config, loaders: Sequence[str]) -> None:
    """Raise if the data set of one of ``loaders`` points to a missing folder.

    Remote roots (``s3://bucket/potsdam``, any ``scheme://``, see
    :func:`is_uri`) are left to mmengine's file backends.

    Args:
        cfg (Config): The config.
        loaders (Sequence[str]): Keys such as ``'train_dataloader'``.

    Raises:
        FileNotFoundError: naming the config key and the folder.
    """
    missing: List[str] = []
    for key in loaders:
        loader = cfg.get(key)
        if not loader:
            continue
        for path, dataset in _iter_datasets(loader.get('dataset', {}),
                                            f'{key}.dataset'):
            root = dataset.get('data_root')
            if root and not is_uri(root) and not osp.isdir(root):
                missing.append(f'{path}.data_root = {root!r}')
    if missing:
        raise FileNotFoundError(
            'data root not found: ' + '; '.join(missing) + '. Convert the '
            'ISPRS archives with tools/dataset_converters/, or write the '
            'synthetic sample with `python tools/make_sample_data.py` (see '
            'docs/user_guides/data_preparation.md), or set the path with '
            '--cfg-options.')


def prepare_synthetic_sample(cfg: Config, loaders: Sequence[str]) -> bool:
    """Write the synthetic sample where the config reads it, if missing.

    A config whose data is the synthetic sample says so with a top-level
    ``synthetic_sample = dict(dataset='potsdam',
    data_root='data/sample/potsdam', seed=0)`` (see
    ``configs/_base_/datasets/sample_potsdam_rgbir_dsm.py``). When a data
    set of ``loaders`` reads that ``data_root`` and the folder does not
    exist, the synthetic archives are written and converted there, by
    :func:`~mmseg_lanet.datasets.synthetic.make_sample_data` (what
    ``tools/make_sample_data.py`` runs), and a log line says that the data
    are synthetic. A data root set elsewhere (``--cfg-options``) is never
    written. Distributed runs do not write it (their processes would race):
    :func:`check_data_roots` then names the command to run first.

    Args:
        cfg (Config): The config.
        loaders (Sequence[str]): Keys such as ``'train_dataloader'``.

    Returns:
        bool: Whether the sample was written.

    Raises:
        ValueError: if ``synthetic_sample`` is malformed (named).
    """
    sample = cfg.get('synthetic_sample')
    if not sample:
        return False
    from mmseg_lanet.datasets.synthetic import (SAMPLE_WRITERS,
                                                make_sample_data)
    dataset, root = sample.get('dataset'), sample.get('data_root')
    if dataset not in SAMPLE_WRITERS or not isinstance(root, str) or \
            osp.basename(osp.normpath(root)) != dataset:
        raise ValueError(
            f'synthetic_sample must name a data set of {list(SAMPLE_WRITERS)}'
            ' and a data_root <folder>/<data set> (make_sample_data writes '
            f'<folder>/<data set>), got {sample}')
    root = osp.normpath(root)
    if osp.exists(root) or cfg.get('launcher', 'none') != 'none':
        return False
    if not any(
            osp.normpath(str(ds.get('data_root', ''))) == root
            for key in loaders if cfg.get(key)
            for _, ds in _iter_datasets(cfg.get(key).get('dataset', {}), key)):
        return False
    out_root, seed = osp.dirname(root), sample.get('seed', 0)
    print_log(
        f'{root} is missing: writing the SYNTHETIC {dataset} sample there '
        '(generated scenes, not ISPRS data; scores on it say nothing about '
        f'real imagery), as `python tools/make_sample_data.py --dataset '
        f'{dataset} --out {out_root or "."} --seed {seed}` does',
        logger='current',
        level=logging.WARNING)
    make_sample_data(dataset, out_root or '.', seed=seed, progress=False)
    return True


def _iter_datasets(dataset: dict, path: str):
    """Yield (config path, dataset cfg), looking inside dataset wrappers."""
    yield path, dataset
    inner = dataset.get('dataset')
    if isinstance(inner, dict):
        yield from _iter_datasets(inner, path + '.dataset')
    for i, sub in enumerate(dataset.get('datasets') or []):
        yield from _iter_datasets(sub, f'{path}.datasets[{i}]')
