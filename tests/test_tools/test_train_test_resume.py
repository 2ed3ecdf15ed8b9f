"""train -> test -> resume on the synthetic sample, with our tools and with
MMSeg's own tools (plugin through custom_imports); distributed runs are in
test_clusters.py.

Each run loads the checkpoint the previous one wrote under torch's safe
(weights_only) loading, which torch >= 2.6 applies by default.
"""
import os.path as osp

import torch

from _tool_helpers import (MMSEG_TOOLS, REPO, SAMPLE_CONFIG, final_metrics,
                           python, run, run_ok, tiny_options)

TRAIN = osp.join(REPO, 'tools', 'train.py')
TEST = osp.join(REPO, 'tools', 'test.py')
METRIC_KEYS = {'OA', 'mF1', 'mIoU', 'mIoU_with_clutter', 'F1.building'}


def _checkpoint_iter(path):
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    return ckpt['meta']['iter']


def _train_test_resume(train, test, work_dir, data_root):
    options = tiny_options(data_root, iters=4)
    log = run_ok(python(train, SAMPLE_CONFIG, '--work-dir', work_dir,
                        '--cfg-options', *options), cwd=work_dir)
    if data_root is None:  # a fresh clone: the config writes its sample
        assert 'data/sample/potsdam is missing: writing the SYNTHETIC ' \
            'potsdam sample there' in log
        assert osp.isfile(
            osp.join(work_dir, 'data', 'sample', 'potsdam', 'conversion.json'))
    assert 'Iter(train) [4/4]' in log
    val = final_metrics(log, 'val')
    assert METRIC_KEYS <= val.keys()
    assert 0 <= val['OA'] <= 100
    ckpt = osp.join(work_dir, 'iter_4.pth')
    assert _checkpoint_iter(ckpt) == 4

    log = run_ok(python(test, SAMPLE_CONFIG, ckpt, '--work-dir', work_dir,
                        '--cfg-options', *options), cwd=work_dir)
    assert 'UnpicklingError' not in log
    # The same weights on the same tiles: test equals the final validation.
    assert final_metrics(log, 'test') == val

    resumed = [o for o in options if not o.startswith(('train_cfg.max',
                                                       'param_sch'))]
    log = run_ok(python(train, SAMPLE_CONFIG, '--work-dir', work_dir,
                        '--resume', '--cfg-options', *resumed,
                        'train_cfg.max_iters=6', 'param_scheduler.0.end=6'),
                 cwd=work_dir)
    assert 'resumed epoch: 0, iter: 4' in log
    assert 'Iter(train) [5/6]' in log and 'Iter(train) [1/6]' not in log
    assert _checkpoint_iter(osp.join(work_dir, 'iter_6.pth')) == 6


def test_train_test_resume_with_our_tools(sample_root, tmp_path):
    # The README's one command on a fresh clone: no data/sample yet.
    _train_test_resume(TRAIN, TEST, str(tmp_path), None)

    # Flip test-time augmentation, predictions written as index + colour.
    out = tmp_path / 'pred'
    log = run_ok(python(TEST, SAMPLE_CONFIG, str(tmp_path / 'iter_6.pth'),
                        '--tta', '--out', str(out), '--work-dir',
                        str(tmp_path), '--cfg-options',
                        *tiny_options(sample_root)), cwd=str(tmp_path))
    assert METRIC_KEYS <= final_metrics(log, 'test').keys()
    assert sorted(p.name for p in out.iterdir()) == [
        f'{tile}{suffix}.png' for tile in ('2_13', '4_14', '6_15')
        for suffix in ('', '_colour')]

    # --resume with a path: from iter_4 in another work dir, not the latest.
    other = tmp_path / 'from_iter_4'
    other.mkdir()
    options = [o for o in tiny_options(sample_root, iters=6)
               if not o.startswith('default_hooks.checkpoint')]
    log = run_ok(python(TRAIN, SAMPLE_CONFIG, '--work-dir', str(other),
                        '--resume', str(tmp_path / 'iter_4.pth'),
                        '--cfg-options', *options,
                        'default_hooks.checkpoint.interval=6'),
                 cwd=str(other))
    assert 'resumed epoch: 0, iter: 4' in log
    assert _checkpoint_iter(str(other / 'iter_6.pth')) == 6


def test_train_test_resume_with_mmseg_tools(sample_root, tmp_path):
    # MMSeg's tools import nothing of ours: the config's custom_imports does.
    _train_test_resume(
        osp.join(MMSEG_TOOLS, 'train.py'), osp.join(MMSEG_TOOLS, 'test.py'),
        str(tmp_path), sample_root)


def test_not_a_checkpoint_is_named(tmp_path):
    bad = tmp_path / 'iter_1.pth'
    bad.write_text('not a checkpoint')
    code, log = run(python(TEST, SAMPLE_CONFIG, str(bad)), str(tmp_path))
    assert code != 0
    assert f'{bad} is not a checkpoint' in log


def test_config_without_plugin_import_is_named(tmp_path):
    config = tmp_path / 'no_import.py'
    config.write_text(f"_base_ = ['{SAMPLE_CONFIG}']\ncustom_imports = None\n")
    code, log = run(python(TRAIN, str(config)), str(tmp_path))
    assert code != 0
    assert f'{config} uses ' in log and 'LANetHead' in log
    assert "custom_imports = dict(imports=['mmseg_lanet']" in log


def test_missing_data_root_is_named(tmp_path):
    # Roots other than the sample's are never written, only named.
    code, log = run(python(TRAIN, SAMPLE_CONFIG, '--cfg-options',
                           'train_dataloader.dataset.data_root=/no/train',
                           'val_dataloader.dataset.data_root=/no/val'),
                    str(tmp_path))
    assert code != 0
    assert ("data root not found: train_dataloader.dataset.data_root = "
            "'/no/train'; val_dataloader.dataset.data_root = "
            "'/no/val'") in log
    assert 'SYNTHETIC' not in log and not (tmp_path / 'data').exists()

    ckpt = tmp_path / 'iter_0.pth'
    torch.save({'state_dict': {}}, ckpt)
    code, log = run(python(TEST, SAMPLE_CONFIG, str(ckpt), '--cfg-options',
                           'test_dataloader.dataset.data_root=/no/test'),
                    str(tmp_path))
    assert code != 0
    assert ("data root not found: test_dataloader.dataset.data_root = "
            "'/no/test'") in log
    assert not (tmp_path / 'data').exists()
