"""tools/analysis_tools/benchmark_data.py in its tiny structural mode: the
figures exist and are reported, on generated data in both layouts. (Speed
itself is measured by running the tool, not here.)"""
import importlib.util
import os.path as osp

import pytest

ROOT = osp.join(osp.dirname(__file__), '..', '..')
CONFIG = osp.join(ROOT, 'configs', 'lanet',
                  'lanet_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512.py')


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'benchmark_data',
        osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_data.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_benchmark_runs_before_and_after_on_generated_tiles(tmp_path,
                                                            capsys):
    with pytest.warns(UserWarning, match='rewrite_layout.py'):
        results = load_tool().main([
            CONFIG, '--generate', '--tile-size', '64', '--crop-size', '32',
            '32', '--samples', '4', '--workers', '1', '--batch-size', '2',
            '--before', '--before-samples', '1', '--gpu-rate', '220',
            '--work-dir', str(tmp_path)])
    # The before figure reads the old layout (PNG labels), the after figure
    # the windowed one, each generated once.
    assert (tmp_path / 'whole_tile_64' / 'ann_eroded_dir' / 'train' /
            'bench.png').is_file()
    assert (tmp_path / 'windowed_64' / 'ann_eroded_dir' / 'train' /
            'bench.tif').is_file()
    assert results['crop_size'] == (32, 32)
    for key in ('after', 'before'):
        rates = results[key]['worker_rate']
        assert rates['wall'] > 0 and rates['cpu'] > 0
    loader = results['after']['loader'][1]
    assert loader['rate'] > 0 and loader['rss_mb'] > loader['private_mb'] > 0
    report = capsys.readouterr().out
    assert '32 x 32 crops from' in report
    assert 'whole-tile loading (before): ' in report
    assert 'samples/s per worker (' in report and 'per CPU second' in report
    assert 'crop-first loading: ' in report
    assert 'a GPU consuming 220 samples/s needs' in report
    assert 'DataLoader, 1 worker(s): ' in report and 'worker RSS' in report
