"""The 'blend' test mode of BlendEncoderDecoder and the branch figure."""
import cv2
import pytest
import torch
from mmengine.config import ConfigDict

from mmseg.models.utils import resize
from mmseg_lanet.apis import InputSpec, RasterInput
from mmseg_lanet.models import BlendEncoderDecoder
from mmseg_lanet.visualization import branch_predictions, draw_branch_figure


@pytest.fixture(scope='module')
def tile(tiny_model, rasters):
    source = RasterInput(InputSpec.from_config(tiny_model.cfg),
                         rasters['image'], dsm=rasters['dsm'])
    pixels, _ = source.read((0, 0, *source.shape))
    source.close()
    return torch.from_numpy(pixels)[None]


def _inference(model, images, **test_cfg):
    model.test_cfg = ConfigDict(test_cfg)
    shape = tuple(images.shape[2:])
    with torch.no_grad():
        return model.inference(images, [dict(
            img_shape=shape, ori_shape=shape, pad_shape=shape,
            padding_size=[0, 0, 0, 0])])


def test_blend_mode(tiny_model, tile):
    assert isinstance(tiny_model, BlendEncoderDecoder)
    whole = _inference(tiny_model, tile, mode='whole')
    # One window as large as the tile: the whole-tile log-probabilities.
    single = _inference(tiny_model, tile, mode='blend', crop_size=(256, 256),
                        stride=(128, 128))
    # (float16 band: probabilities within 1e-3)
    torch.testing.assert_close(single.exp(), whole.softmax(1), atol=1e-3,
                               rtol=0)
    blended = _inference(tiny_model, torch.cat([tile, tile.flip(3)]),
                         mode='blend', crop_size=(64, 64), stride=(48, 48),
                         batch_size=5)
    assert blended.shape == (2, 6, 150, 130)
    torch.testing.assert_close(blended.exp().sum(1),
                               torch.ones(2, 150, 130), atol=1e-4, rtol=0)
    # Each image of the batch on its own.
    torch.testing.assert_close(blended[1:].exp(), _inference(
        tiny_model, tile.flip(3), mode='blend', crop_size=(64, 64),
        stride=(48, 48)).exp(), atol=1e-3, rtol=0)
    # MMSeg's modes are untouched.
    slide = _inference(tiny_model, tile, mode='slide', crop_size=(64, 64),
                       stride=(48, 48))
    assert slide.shape == (1, 6, 150, 130)
    tiny_model.test_cfg = ConfigDict(mode='whole')


def test_blend_mode_runs_under_the_test_loops_autocast(tiny_model, tile):
    # mmengine's TestLoop(fp16=True) wraps the test step in autocast; the
    # blend mode's windows must run in it, as MMSeg's modes do.
    seen = []
    hook = tiny_model.backbone.register_forward_hook(
        lambda module, args, out: seen.append(out[-1].dtype))
    try:
        with torch.autocast('cpu', dtype=torch.bfloat16):
            for mode in ('slide', 'blend'):
                scores = _inference(tiny_model, tile, mode=mode,
                                    crop_size=(64, 64), stride=(48, 48),
                                    batch_size=4)
                assert scores.shape == (1, 6, 150, 130)
        _inference(tiny_model, tile, mode='blend', crop_size=(64, 64),
                   stride=(48, 48), batch_size=4)
    finally:
        hook.remove()
        tiny_model.test_cfg = ConfigDict(mode='whole')
    # 9 windows one by one (slide), 3 batches (blend), then blend in fp32.
    assert seen == [torch.bfloat16] * 12 + [torch.float32] * 3


def test_branch_predictions(tiny_model, tile):
    maps = branch_predictions(tiny_model, tile)
    assert set(maps) == {'high', 'high_pam', 'low', 'low_pam', 'low_aem',
                         'fused'}
    assert all(m.shape == (1, 150, 130) for m in maps.values())
    with torch.no_grad():
        feats = tiny_model.extract_feat(tile)
        branches = tiny_model.decode_head.forward_branches(feats)
        fused = tiny_model.encode_decode(tile, [dict(img_shape=(150, 130))])
    torch.testing.assert_close(maps['fused'], fused.argmax(1))
    # After their modules, the branches are the head's own logits.
    for key, branch in (('high_pam', 'high'), ('low_aem', 'low')):
        expected = resize(branches[branch], size=(150, 130),
                          mode='bilinear').argmax(1)
        assert (maps[key] == expected).float().mean() > 0.999


def test_branch_figure_png(tiny_model, rasters, scene, tmp_path):
    label = tmp_path / 'label.png'
    cv2.imwrite(str(label), scene['labels'])
    out = tmp_path / 'figure.png'
    maps = draw_branch_figure(tiny_model, rasters['image'], str(out),
                              rasters['dsm'], str(label))
    picture = cv2.imread(str(out))
    assert picture is not None and picture.shape[0] > 300
    assert maps['fused'].shape == (150, 130)


@pytest.mark.parametrize('test_cfg,message', [
    (dict(mode='blnd'), "model.test_cfg.mode must be one of ('whole', "
     "'slide', 'blend'), got 'blnd'"),
    (dict(mode='blend', stride=(48, 48)),
     "model.test_cfg.crop_size is needed by mode 'blend'"),
    (dict(mode='blend', crop_size=(64, 64), stride=(96, 48)),
     'model.test_cfg.stride (96, 48) must be positive and at most '
     'model.test_cfg.crop_size (64, 64)'),
    (dict(mode='blend', crop_size=(64, 64), stride=(48, 48), batch_size=0),
     'model.test_cfg.batch_size must be >= 1, got 0'),
    (dict(mode='blend', crop_size=(64, 64), stride=(48, 48), floor=0),
     'model.test_cfg.floor must be in (0, 1], got 0'),
])
def test_bad_test_cfg_named_at_construction(tiny_model, tile, test_cfg,
                                            message):
    """A config's test_cfg is checked when the model is built (before the
    test loop loads an image), and again if set afterwards."""
    from mmseg.registry import MODELS

    from _raster_helpers import tiny_config
    cfg = tiny_config().model
    cfg.test_cfg = test_cfg
    with pytest.raises(ValueError) as error:
        MODELS.build(cfg)
    assert str(error.value).startswith(message)
    try:
        with pytest.raises(ValueError) as error:
            _inference(tiny_model, tile, **test_cfg)
        assert str(error.value).startswith(message)
    finally:
        tiny_model.test_cfg = ConfigDict(mode='whole')


def test_one_channel_head_is_refused_where_windows_are_blended(tmp_path,
                                                                rasters):
    """A sigmoid head (out_channels 1) gives no softmax probabilities to
    blend: a softmax over its one channel is 1 everywhere, so 'blend' and
    tools/predict.py would predict class 0 at every pixel."""
    from mmseg.registry import MODELS

    from _raster_helpers import tiny_config
    from mmseg_lanet.apis import predict_raster
    cfg = tiny_config(num_classes=2)
    cfg.model.decode_head.update(out_channels=1, threshold=0.5)
    blend = dict(mode='blend', crop_size=(64, 64), stride=(48, 48))
    message = ('blends softmax probabilities, which a one-channel (sigmoid) '
               'head does not give: decode_head.out_channels is 1; set '
               "out_channels to num_classes, or test with mode 'whole' or "
               "'slide'")
    with pytest.raises(ValueError) as error:
        MODELS.build(dict(cfg.model, test_cfg=blend))
    assert str(error.value) == "model.test_cfg.mode 'blend' " + message
    model = MODELS.build(cfg.model).eval()  # whole mode: MMSeg's threshold
    model.cfg = cfg
    model.test_cfg = ConfigDict(blend)  # set after construction
    with pytest.raises(ValueError, match="model.test_cfg.mode 'blend' "):
        _inference(model, torch.zeros(1, 5, 64, 64), **blend)
    with pytest.raises(ValueError) as error:
        predict_raster(model, rasters['image'], str(tmp_path / 'maps'),
                       rasters['dsm'])
    assert str(error.value) == 'tools/predict.py ' + message
    assert not (tmp_path / 'maps').exists()
