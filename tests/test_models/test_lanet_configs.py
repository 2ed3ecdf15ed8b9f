"""Every config in configs/lanet builds, and runs forward/backward on CPU."""
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData

from mmseg.structures import SegDataSample
from mmseg_lanet.models import AttentionEmbedding, PatchAttention
from mmseg_lanet.models.complexity import build_segmentor

from _lanet_configs import CONFIGS, check_model_index, name_of

SIZE = 64
# Ablation row (config name prefix) -> (low level, fusion, high PAM,
# low PAM, AEM), as in the paper's tables I and II.
ROWS = {
    'fcn': (False, None, False, False, False),
    'fcn-pam': (False, None, True, False, False),
    'fcn-lowfeat': (True, 'concat', False, False, False),
    'fcn-lowfeat-2pam': (True, 'sum', True, True, False),
    'fcn-lowfeat-aem': (True, 'sum', False, False, True),
    'lanet': (True, 'sum', True, True, True),
    'lanet-authors': (True, 'sum', True, True, True),
}


def load(path):
    cfg = Config.fromfile(path)
    cfg.model.backbone.init_cfg = None  # no weight download in tests
    cfg.model.data_preprocessor.size = (SIZE, SIZE)
    return cfg


def batch(cfg, num_bands, size=SIZE):
    torch.manual_seed(0)
    inputs, data_samples = [], []
    for _ in range(2):
        inputs.append(torch.randint(0, 256, (num_bands, size, size)).float())
        sample = SegDataSample(metainfo=dict(
            img_shape=(size, size), ori_shape=(size, size),
            pad_shape=(size, size)))
        labels = torch.randint(0, cfg.model.decode_head.num_classes,
                               (1, size, size))
        labels[:, :4] = 255  # ignored boundary
        sample.gt_sem_seg = PixelData(data=labels)
        data_samples.append(sample)
    return dict(inputs=inputs, data_samples=data_samples)


def test_all_rows_have_configs_for_both_data_sets():
    names = [name_of(p) for p in CONFIGS]
    for row in ROWS:
        for dataset in ('r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512',
                        'r50-d16_1xb8-80k_vaihingen-irrg-dsm-512x512'):
            assert f'{row}_{dataset}' in names
    for backbone in ('hr18', 'hr48'):
        for dataset in ('potsdam-rgbir-dsm', 'vaihingen-irrg-dsm'):
            assert f'lanet_{backbone}_1xb8-80k_{dataset}-512x512' in names


@pytest.mark.parametrize('path', CONFIGS, ids=name_of)
def test_config_builds_and_trains_a_step(path):
    cfg = load(path)
    name = name_of(path)
    num_bands = len(cfg.model.backbone.band_names)
    assert num_bands == (5 if 'potsdam' in name else 4)
    assert len(cfg.model.data_preprocessor.mean) == num_bands
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.optim_wrapper.optimizer.nesterov
    model = build_segmentor(cfg)
    head = model.decode_head

    row = name.split('_')[0]
    assert (head.with_low_level,
            head.fusion if head.with_low_level else None,
            isinstance(head.high_pam, PatchAttention),
            isinstance(head.low_pam, PatchAttention),
            isinstance(head.aem, AttentionEmbedding)) == ROWS[row]

    data = model.data_preprocessor(batch(cfg, num_bands), training=True)
    feats = model.extract_feat(data['inputs'])
    stride = 16 if 'd16' in name else 32
    high = feats[head.in_index[1]]
    assert high.shape[-2:] == (SIZE // stride, SIZE // stride)

    model.train()
    losses = model(**data, mode='loss')
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)
    loss.backward()
    stem = next(p for p in model.backbone.parameters())
    assert stem.grad is not None and stem.grad.abs().sum() > 0
    for pname, param in head.named_parameters():
        assert param.grad is not None, pname

    model.eval()
    with torch.no_grad():
        results = model(**data, mode='predict')
    assert results[0].pred_sem_seg.data.shape == (1, SIZE, SIZE)


@pytest.mark.parametrize('path', [
    p for p in CONFIGS
    if name_of(p).startswith('lanet_r50') or 'authors' in name_of(p)
], ids=name_of)
def test_whole_tile_inference_on_an_odd_size(path):
    """Whole-tile prediction as in the paper, on a size that is a multiple
    of neither the output stride nor the PAM windows."""
    cfg = load(path)
    model = build_segmentor(cfg)
    num_bands = len(cfg.model.backbone.band_names)
    data = model.data_preprocessor(batch(cfg, num_bands, size=75))
    with torch.no_grad():
        results = model(**data, mode='predict')
    assert results[0].pred_sem_seg.data.shape == (1, 75, 75)


def test_model_index_metafile_and_readme_list_every_config():
    check_model_index('lanet')
