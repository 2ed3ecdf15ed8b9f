"""The model benchmark in its small mode, and its errors (package function
and tools/analysis_tools/benchmark_models.py)."""
import dataclasses
import importlib.util
import json
import os.path as osp
import re

import pytest
from mmengine.config import Config

from _small_models import shrink_backbone, shrink_model
from benchmarks.model_benchmark import (Settings, benchmark, markdown_table,
                                        profile_step, ratio_table,
                                        resolve_device)

ROOT = osp.join(osp.dirname(__file__), '..', '..')
TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_models.py')
POTSDAM = '_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512.py'
FCN = osp.join(ROOT, 'configs', 'lanet', 'fcn' + POTSDAM)
LANET = osp.join(ROOT, 'configs', 'lanet', 'lanet' + POTSDAM)


def dump(cfg, path):
    cfg.dump(str(path))
    return str(path)


@pytest.fixture(scope='module')
def small_configs(tmp_path_factory):
    """FCN and LANet on a ResNet-50 at 1/8 width, as config files."""
    out = tmp_path_factory.mktemp('configs')
    return [
        dump(shrink_model(Config.fromfile(p)), out / osp.basename(p))
        for p in (FCN, LANET)
    ]


@pytest.fixture(scope='module')
def small_results(small_configs):
    return benchmark(small_configs, Settings.small())


def test_small_mode_measures_every_column(small_results):
    settings = Settings.small()
    fcn, lanet = small_results
    assert [fcn.name, lanet.name] == ['fcn' + POTSDAM[:-3],
                                      'lanet' + POTSDAM[:-3]]
    for r in small_results:
        assert r.bands == 5
        assert r.params_m > 0 and r.latency_ms > 0
        assert r.train_img_s_fp32 > 0 and r.train_peak_mib is not None
        # AMP: on CUDA only by default.
        assert r.train_img_s_amp is None and r.train_amp_peak_mib is None
        assert [(t.size, t.mode) for t in r.tiles] == [
            (128, 'whole'), (128, 'slide'), (256, 'whole'), (256, 'slide')]
    # LANet = FCN + PAM, AEM and a low-level branch.
    assert lanet.params_m > fcn.params_m and lanet.flops_g > fcn.flops_g

    table = markdown_table(small_results, settings).splitlines()
    assert table[0] == (
        '| config | bands | params (M) | FLOPs (G) 64x64 | latency 64x64 '
        '(ms) | train b2 fp32 (img/s) | train b2 AMP (img/s) | train peak '
        'mem fp32 / AMP (MiB) | whole 128x128 s / MiB | slide 128x128 s / '
        'MiB | whole 256x256 s / MiB | slide 256x256 s / MiB |')
    assert table[1] == '|' + '---|' * 12
    assert len(table) == 4
    for line, r in zip(table[2:], small_results):
        cells = [c.strip() for c in line.strip('|').split('|')]
        assert len(cells) == 12
        assert cells[:4] == [r.name, '5', f'{r.params_m:.2f}',
                             f'{r.flops_g:.2f}']
        assert cells[6] == '—'

    ratios = ratio_table(small_results, fcn.name).splitlines()
    assert ratios[2].startswith(f'| {fcn.name} | 1.000 | 1.000 | 1.000 |')
    assert ratios[3].split(' | ')[1] == f'{lanet.params_m / fcn.params_m:.3f}'
    with pytest.raises(ValueError, match="baseline 'pspnet' is not among"):
        ratio_table(small_results, 'pspnet')


def test_flops_and_time_grow_with_input_size(small_results):
    for r in small_results:
        tiles = {(t.size, t.mode): t for t in r.tiles}
        # Whole-tile FLOPs scale with the pixels (x4 per doubling).
        assert r.flops_g < tiles[128, 'whole'].flops_g < \
            tiles[256, 'whole'].flops_g
        assert tiles[256, 'whole'].flops_g == pytest.approx(
            16 * r.flops_g, rel=0.05)
        assert tiles[128, 'slide'].flops_g is None
        # 25 windows of the latency input's size, instead of 9 at 128. (On
        # a shared CPU, whole-tile times of a tiny model are within noise
        # of each other; the window counts are not.)
        assert tiles[256, 'slide'].seconds > r.latency_ms / 1e3
        assert tiles[256, 'slide'].seconds > tiles[128, 'slide'].seconds


def test_head_that_does_not_fit_the_backbone(tmp_path):
    # Narrow backbone (256 channels out), heads still expecting 2048.
    path = dump(shrink_backbone(Config.fromfile(LANET)), tmp_path / 'bad.py')
    with pytest.raises(
            ValueError,
            match=r'bad: decode_head \(LANetHead\) does not fit the backbone: '
            r'in_channels=\(256, 2048\) at in_index=\(0, 3\), but the '
            r'backbone features there have \[32, 256\] channels'):
        benchmark([path], Settings.small())


def test_unknown_config_and_device(tmp_path):
    missing = str(tmp_path / 'nope.py')
    with pytest.raises(FileNotFoundError,
                       match=f'config file not found: {missing}'):
        benchmark([FCN, missing], Settings.small())
    with pytest.raises(ValueError, match='timer must be "wall", or '
                       '"process" on CPU, got \'cycles\' on cpu'):
        benchmark([FCN], dataclasses.replace(Settings.small(),
                                             timer='cycles'))
    with pytest.raises(ValueError,
                       match="device 'gpu0': not a torch device"):
        resolve_device('gpu0')
    with pytest.raises(ValueError, match="device 'meta': the benchmark runs "
                       'on cpu, cuda or cuda:N'):
        resolve_device('meta')
    with pytest.raises(ValueError, match="device 'cuda:64': (CUDA is not "
                       'available here|this machine has)'):
        resolve_device('cuda:64')


def tool_main():
    spec = importlib.util.spec_from_file_location('benchmark_models', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_tool_writes_table_and_json(small_configs, tmp_path, capsys):
    out = tmp_path / 'bench.json'
    tool_main()([small_configs[1], '--small', '--out', str(out)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == (f'Command: benchmark_models.py {small_configs[1]} '
                        f'--small --out {out}')
    assert lines[3].startswith('| config | bands | params (M) |')
    assert lines[5].startswith('| lanet' + POTSDAM[:-3])
    report = json.loads(out.read_text())
    assert report['settings']['size'] == 64
    assert report['environment']['device'].startswith('cpu')
    assert [r['name'] for r in report['results']] == ['lanet' + POTSDAM[:-3]]
    tile = report['results'][0]['tiles'][0]
    assert set(tile) == {'size', 'mode', 'seconds', 'peak_mib', 'flops_g'}
    assert (tile['size'], tile['mode']) == (128, 'whole')
    assert tile['seconds'] > 0 and tile['flops_g'] > 0


@pytest.mark.parametrize('args, message', [
    (['configs/nope.py'], 'error: config file not found: configs/nope.py'),
    ([FCN, '--device', 'cuda:64'], "error: device 'cuda:64': "),
    ([FCN, '--device', 'tpu'], "error: device 'tpu': not a torch device"),
    ([FCN, '--compile', '--compile-backend', 'turbo'],
     "error: unknown --compile-backend 'turbo'; torch has ["),
])
def test_tool_errors(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        tool_main()([*args, '--small'])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def _profile_counts(report, what):
    summary = report.splitlines()[-1]
    assert summary.startswith(f'lanet{POTSDAM[:-3]}: {what} on cpu: ')
    calls, casts = map(int, re.search(
        r'(\d+) aten calls and (\d+) dtype conversions', summary).groups())
    assert calls > casts
    return calls, casts


def test_profile_counts_operators_and_casts(small_configs):
    report = profile_step(small_configs[1], batch=2, size=32, steps=1)
    calls, casts = _profile_counts(report, 'AMP training, batch 2 x 32x32')
    assert casts > 0 and 'aten::_to_copy' in report
    # The same step with the head under autocast (--cfg-options) converts
    # every head convolution's weights: more casts and more calls.
    follow = profile_step(
        small_configs[1], batch=2, size=32, steps=1,
        cfg_options={'model.decode_head.float32_under_amp': False})
    calls_follow, casts_follow = _profile_counts(
        follow, 'AMP training, batch 2 x 32x32')
    assert casts_follow >= casts + 20 and calls_follow > calls
    # The latency call: no autocast, no conversion at all.
    inference = profile_step(small_configs[1], size=32, steps=1,
                                 inference=True)
    assert _profile_counts(inference, 'inference, 1 x 32x32')[1] == 0


def test_amp_training_on_cpu(small_configs):
    """--amp on a CPU: bfloat16 autocast (the CUDA path is float16 with a
    gradient scaler)."""
    settings = dataclasses.replace(Settings.small(), amp=True, tile_sizes=())
    result, = benchmark(small_configs[1:], settings)
    assert result.train_img_s_amp > 0 and result.train_img_s_fp32 > 0
    assert result.train_amp_peak_mib is not None and result.tiles == []
    row = markdown_table([result], settings).splitlines()[2].split(' | ')
    assert row[6] == f'{result.train_img_s_amp:.2f}'
    assert row[7].count(' / ') == 1


def test_compiled_training_step(small_configs, monkeypatch):
    """--compile: the training step's forward and loss go through
    torch.compile (the 'eager' backend here: Dynamo traces them, no code
    generation, seconds on a CPU); the table says so. Every config compiles
    afresh: with Dynamo's recompile limit at 2, the second config's fp32
    and AMP steps would exceed it (an error here, not silently eager)."""
    import torch
    from torch._dynamo.utils import counters
    monkeypatch.setattr(torch._dynamo.config, 'recompile_limit', 2)
    monkeypatch.setattr(torch._dynamo.config, 'fail_on_recompile_limit_hit',
                        False)
    torch._dynamo.reset()
    counters.clear()
    settings = dataclasses.replace(Settings.small(), compile='eager',
                                   tile_sizes=(), amp=True)
    fcn, result = benchmark(small_configs, settings)
    assert fcn.train_img_s_amp > 0 and result.train_img_s_amp > 0
    assert result.train_img_s_fp32 > 0
    # MMSeg's loss and accuracy break the graph (.item(), nonzero).
    assert counters['stats']['unique_graphs'] >= 2
    assert any('item()' in reason for reason in counters['graph_break'])
    assert counters['stats']['calls_captured'] > 100
    header = markdown_table([result], settings).splitlines()[0]
    assert 'train b2 compiled (eager) fp32 (img/s)' in header
