"""Readable errors for configs that forgot the plugin or point at no data."""
import logging
import os.path as osp
import textwrap

import pytest
from mmengine.config import Config
from mmengine.logging import MMLogger

import mmseg_lanet  # noqa: F401
from mmseg_lanet.engine.config_checks import (check_data_roots,
                                              check_plugin_import,
                                              plugin_types,
                                              prepare_synthetic_sample)

HEAD = "model = dict(decode_head=dict(type='LANetHead', num_classes=6))\n"


def _config(tmp_path, text, name='cfg.py'):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return Config.fromfile(str(path))


def test_plugin_types_are_ours_only():
    names = plugin_types()
    assert {'LANetHead', 'PatchAttention', 'AttentionEmbedding'} <= names
    assert 'FCNHead' not in names and 'EncoderDecoder' not in names


def test_config_without_plugin_import_names_file_types_and_fix(tmp_path):
    cfg = _config(tmp_path, HEAD, 'no_import.py')
    with pytest.raises(ValueError) as err:
        check_plugin_import(cfg)
    message = str(err.value)
    assert 'no_import.py uses LANetHead from mmseg_lanet' in message
    assert "custom_imports = dict(imports=['mmseg_lanet']" in message


def test_config_with_plugin_import_or_without_plugin_types_passes(tmp_path):
    check_plugin_import(_config(
        tmp_path, "custom_imports = dict(imports=['mmseg_lanet'])\n" + HEAD))
    check_plugin_import(_config(
        tmp_path, "model = dict(decode_head=dict(type='FCNHead'))\n"))


def test_missing_data_root_names_the_key_and_the_folder(tmp_path):
    (tmp_path / 'data').mkdir()
    cfg = _config(tmp_path, f"""
        train_dataloader = dict(dataset=dict(
            type='RepeatDataset', times=2,
            dataset=dict(type='X', data_root='{tmp_path}/data')))
        val_dataloader = dict(dataset=dict(type='X', data_root='nowhere/pd'))
        test_dataloader = dict(dataset=dict(type='X', data_root='gone/vh'))
        """)
    check_data_roots(cfg, ['train_dataloader'])
    with pytest.raises(FileNotFoundError) as err:
        check_data_roots(cfg, ['train_dataloader', 'val_dataloader'])
    assert "val_dataloader.dataset.data_root = 'nowhere/pd'" in str(err.value)
    assert 'gone/vh' not in str(err.value)
    assert 'tools/make_sample_data.py' in str(err.value)

    cfg.train_dataloader.dataset.dataset.data_root = 'lost/inner'
    with pytest.raises(FileNotFoundError,
                       match=r"train_dataloader\.dataset\.dataset\.data_root"
                       r" = 'lost/inner'"):
        check_data_roots(cfg, ['train_dataloader'])


def test_remote_data_roots_are_left_to_the_file_backends(tmp_path):
    cfg = _config(tmp_path, """
        train_dataloader = dict(dataset=dict(
            type='X', data_root='s3://bucket/potsdam'))
        val_dataloader = dict(dataset=dict(
            type='X', data_root='cluster:s3://bucket/potsdam'))
        test_dataloader = dict(dataset=dict(type='X', data_root='gone/vh'))
        """)
    check_data_roots(cfg, ['train_dataloader', 'val_dataloader'])
    with pytest.raises(FileNotFoundError,
                       match=r"test_dataloader\.dataset\.data_root = "
                       r"'gone/vh'"):
        check_data_roots(cfg, ['train_dataloader', 'test_dataloader'])


def _sample_config(tmp_path, root, marker_root=None, launcher='none'):
    cfg = _config(tmp_path, f"""
        synthetic_sample = dict(
            dataset='potsdam', data_root='{marker_root or root}', seed=0)
        train_dataloader = dict(dataset=dict(type='X', data_root='{root}'))
        val_dataloader = dict(dataset=dict(type='X', data_root='{root}'))
        """)
    cfg.launcher = launcher
    return cfg


@pytest.fixture
def logged():
    """Messages that mmengine's current logger writes during the test (it
    has no parent logger, so pytest's caplog does not see them)."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_missing_synthetic_sample_is_written_and_said_so(tmp_path, logged):
    root = tmp_path / 'data' / 'sample' / 'potsdam'
    cfg = _sample_config(tmp_path, str(root))
    assert prepare_synthetic_sample(cfg, ['train_dataloader'])
    text = '\n'.join(r.getMessage() for r in logged)
    assert f'{root} is missing: writing the SYNTHETIC potsdam sample' in text
    assert 'not ISPRS data' in text
    assert logged[0].levelno == logging.WARNING
    assert sorted(p.name for p in (root / 'img_dir' / 'train').iterdir()) \
        == ['2_10.tif', '3_11.tif', '4_12.tif', '6_7.tif', '7_8.tif']
    assert (root / 'conversion.json').is_file()
    assert (tmp_path / 'data' / 'sample' / 'archives' / 'potsdam' /
            '4_Ortho_RGBIR.zip').is_file()
    check_data_roots(cfg, ['train_dataloader', 'val_dataloader'])
    # Present now: nothing to do.
    assert not prepare_synthetic_sample(cfg, ['train_dataloader'])


@pytest.mark.parametrize('case', ['other root', 'distributed', 'no marker'])
def test_synthetic_sample_written_only_where_the_marker_says(tmp_path, case):
    root = str(tmp_path / 'real' / 'potsdam')
    cfg = _sample_config(
        tmp_path, root,
        marker_root=str(tmp_path / 'sample' / 'potsdam')
        if case == 'other root' else None,
        launcher='pytorch' if case == 'distributed' else 'none')
    if case == 'no marker':
        cfg.synthetic_sample = None
    assert not prepare_synthetic_sample(cfg, ['train_dataloader'])
    assert not osp.exists(root) and not osp.exists(tmp_path / 'sample')
    with pytest.raises(FileNotFoundError,
                       match=r'(?s)data root not found.*potsdam.*'
                       r'tools/make_sample_data\.py'):
        check_data_roots(cfg, ['train_dataloader'])


def test_malformed_synthetic_sample_marker_is_named(tmp_path):
    cfg = _sample_config(tmp_path, str(tmp_path / 'sample' / 'pd'))
    with pytest.raises(ValueError, match=r"synthetic_sample must name a data "
                       r"set of \['potsdam', 'vaihingen'\] and a data_root "
                       r"<folder>/<data set>.*sample/pd'"):
        prepare_synthetic_sample(cfg, ['train_dataloader'])
