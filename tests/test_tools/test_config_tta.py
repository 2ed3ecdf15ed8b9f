"""Every shipped config can be tested with --tta."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from _tool_helpers import REPO, SAMPLE_CONFIG

CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', 'lanet', '*.py')) +
    glob.glob(osp.join(REPO, 'configs', 'sample', '*.py')))


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_tta_keeps_the_models_band_statistics(path):
    cfg = Config.fromfile(path)
    # mmengine's Runner gives a top-level data_preprocessor to SegTTAModel,
    # replacing the model's: there must be none.
    assert cfg.get('data_preprocessor') is None
    num_bands = len(cfg.bands)
    assert len(cfg.model.data_preprocessor.mean) == num_bands
    assert [t['type'] for t in cfg.tta_pipeline][:2] == [
        'LoadMultiBandImageFromFile', 'NormalizeDSM']


def _flip(tensor, dim):
    return tensor if dim is None else tensor.flip(dim)


def test_tta_undoes_each_flip(sample_root):
    """``--tta`` on the sample config with a tiny LANet: the merged
    prediction equals the mean of the softmax over the tile as is, flipped
    left-right and flipped up-down, each flipped back by hand here."""
    import copy

    import torch
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope

    import mmseg_lanet  # noqa: F401
    from mmseg.registry import DATASETS, MODELS
    init_default_scope('mmseg')
    cfg = Config.fromfile(SAMPLE_CONFIG)
    cfg.model.backbone.update(stem_channels=8, base_channels=8)
    cfg.model.decode_head.update(
        in_channels=[8, 64], channels=16, low_channels=8)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval()
    tta = MODELS.build(dict(cfg.tta_model, module=model))
    dataset = DATASETS.build(
        dict(cfg.test_dataloader.dataset, data_root=sample_root,
             pipeline=cfg.tta_pipeline))
    views = dataset[0]
    assert [s.flip for s in views['data_samples']] == [False, True, True]
    assert [s.flip_direction for s in views['data_samples'][1:]] == [
        'horizontal', 'vertical']
    with torch.no_grad():
        merged = tta.test_step(pseudo_collate([views]))[0]
        image, sample = views['inputs'][0], views['data_samples'][0]
        probs = {}
        # (C, H, W) inputs and (K, H, W) logits: W is dim 2, H dim 1.
        for dim in (None, 2, 1):
            out = model.test_step(
                dict(inputs=[_flip(image, dim)],
                     data_samples=[copy.deepcopy(sample)]))[0]
            probs[dim] = out.seg_logits.data.softmax(0)
    expected = torch.stack([_flip(p, d) for d, p in probs.items()]).mean(0)
    not_undone = torch.stack(list(probs.values())).mean(0)
    pred = merged.pred_sem_seg.data[0]
    assert pred.shape == image.shape[1:]
    top2 = expected.topk(2, dim=0).values
    clear = top2[0] - top2[1] > 1e-4  # leave out near-ties
    assert clear.float().mean() > 0.95
    assert torch.equal(pred[clear], expected.argmax(0)[clear])
    # The check has teeth: skipping the un-flipping changes the prediction.
    assert (pred != not_undone.argmax(0)).float().mean() > 0.05
