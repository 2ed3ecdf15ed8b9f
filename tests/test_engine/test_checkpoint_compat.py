"""Safe loading of mmengine checkpoints on torch >= 2.6."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

import mmseg_lanet  # noqa: F401
from mmseg_lanet.engine.checkpoint_compat import (check_checkpoint_file,
                                                  history_buffer_method)


class NotAllowed:
    """A class no allow-list knows."""


def _mmengine_like_checkpoint():
    hub = MessageHub.get_instance('checkpoint_compat_test')
    for i in range(3):
        hub.update_scalar('train/loss', 1.0 / (i + 1))
    hub.update_info('iter', np.int64(3))
    return dict(
        meta=dict(
            message_hub=hub.state_dict(),
            seed=np.int64(7),
            mean=np.array([85.8, 91.7], dtype=np.float32)),
        state_dict={'w': torch.arange(4.)},
    )


def test_weights_only_load_of_mmengine_types(tmp_path):
    path = tmp_path / 'iter_3.pth'
    torch.save(_mmengine_like_checkpoint(), path)

    ckpt = torch.load(path, weights_only=True)  # safe loading stays on

    buffer = ckpt['meta']['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.current() == pytest.approx(1 / 3)
    assert buffer.mean() == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    assert buffer.min() == pytest.approx(1 / 3)
    np.testing.assert_array_equal(ckpt['meta']['mean'],
                                  np.array([85.8, 91.7], np.float32))
    assert ckpt['meta']['seed'] == 7
    torch.testing.assert_close(ckpt['state_dict']['w'], torch.arange(4.))


def test_mmengine_loader_uses_safe_loading_and_names_the_file(tmp_path):
    good = tmp_path / 'good.pth'
    torch.save(_mmengine_like_checkpoint(), good)
    assert _load_checkpoint(str(good))['meta']['seed'] == 7

    evil = tmp_path / 'evil.pth'
    torch.save({'meta': NotAllowed()}, evil)
    with pytest.raises(pickle.UnpicklingError,
                       match=r'(?s)evil\.pth with safe unpickling.*NotAllowed'):
        CheckpointLoader.load_checkpoint(str(evil))


def test_getattr_stand_in_is_limited_to_history_buffer_methods():
    assert history_buffer_method(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError, match='only HistoryBuffer'):
        history_buffer_method(HistoryBuffer, '__init__')
    with pytest.raises(pickle.UnpicklingError, match='only HistoryBuffer'):
        history_buffer_method(np.ndarray, 'tofile')


def test_not_a_checkpoint(tmp_path):
    text = tmp_path / 'config.py'
    text.write_text("model = dict(type='EncoderDecoder')\n")
    with pytest.raises(ValueError, match=r'config\.py is not a checkpoint'):
        check_checkpoint_file(str(text))
    with pytest.raises(ValueError, match=r'config\.py is not a checkpoint'):
        _load_checkpoint(str(text))
    with pytest.raises(FileNotFoundError, match='checkpoint not found: .*nope'):
        check_checkpoint_file(str(tmp_path / 'nope.pth'))

    truncated = tmp_path / 'truncated.pth'
    torch.save(_mmengine_like_checkpoint(), truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(ValueError, match=r'truncated\.pth is not a readable'):
        _load_checkpoint(str(truncated))


@pytest.mark.parametrize('url', [
    'https://download.openmmlab.com/mmsegmentation/v0.5/fcn/fcn_r50-d8_'
    '512x1024_40k_cityscapes/fcn_r50-d8_512x1024_40k_cityscapes_20200604_'
    '192608-efe53f0d.pth',
    's3://bucket/work_dirs/iter_80000.pth',
    'cluster:s3://bucket/iter_80000.pth',
    'open-mmlab://resnet50_v1c',
])
def test_urls_and_backend_prefixes_are_left_to_mmengine(url):
    """No network needed: the check only has to let them through."""
    check_checkpoint_file(url)


def test_test_tool_passes_a_url_checkpoint_on(tmp_path):
    """``tools/test.py CONFIG URL`` gets past the checkpoint check (to the
    config check, which then names the missing config)."""
    from mmseg_lanet.engine.cli import test
    url = 'https://download.openmmlab.com/mmsegmentation/v0.5/x.pth'
    with pytest.raises(FileNotFoundError,
                       match=r'config file not found: .*nowhere\.py'):
        test([str(tmp_path / 'nowhere.py'), url])
    with pytest.raises(FileNotFoundError,
                       match=r'checkpoint not found: .*missing\.pth'):
        test([str(tmp_path / 'nowhere.py'), str(tmp_path / 'missing.pth')])
