"""benchmark_predict in a small mode: structure of its figures (the real
figures are in docs/user_guides/benchmark.md)."""
import os.path as osp
import sys

from _tool_helpers import REPO

sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
import benchmark_predict  # noqa: E402

from benchmarks.predict_benchmark import (  # noqa: E402
    format_row, summarise)


def test_small_benchmark(tmp_path):
    rows = benchmark_predict.main([
        '--work-dir', str(tmp_path), '--sizes', '64', '--methods', 'predict',
        'blend', '--model', 'tiny', '--window', '32', '32',
        '--stride', '24', '24', '--threads', '1', '--channels-last',
        '--repeats', '3'
    ])
    assert [(r['size'], r['method']) for r in rows] == [(64, 'predict'),
                                                        (64, 'blend')]
    for row in rows:
        assert row['peak_rss_mib'] > 50
        # Three timed runs; the row's time is their median.
        assert len(row['runs']) == 3 and min(row['runs']) > 0
        assert row['seconds'] == sorted(row['runs'])[1]
        assert 'median of 3 runs' in format_row(row)
    # Every run predicted the raster: a rerun into a folder that holds the
    # finished map would skip it.
    assert rows[0]['windows'] == 9  # 64 = windows of 32 at 0, 24, 32
    # Reading runs beside the model: part of the time, never all of it here.
    assert 0 < rows[0]['read_seconds'] < rows[0]['seconds']
    assert 'read_seconds' not in rows[1]
    assert [r['batch_size'] for r in rows] == [4, 4]
    assert [r['channels_last'] for r in rows] == [True, True]
    assert osp.isfile(tmp_path / 'out_predict_64' / 'ortho_64.tif')


def test_amp_and_folded_norms_reach_every_method(tmp_path):
    """--amp and --fuse-conv-bn apply to MMSeg's slide as to ours, so the
    comparison stays fair."""
    rows = benchmark_predict.main([
        '--work-dir', str(tmp_path), '--sizes', '48', '--methods', 'slide',
        'blend', 'predict', '--model', 'tiny', '--window', '32', '32',
        '--stride', '16', '16', '--threads', '1', '--amp', '--fuse-conv-bn'
    ])
    assert [r['method'] for r in rows] == ['slide', 'blend', 'predict']
    # CPU autocast is bfloat16; without --amp the backbone is float32.
    assert [(r['amp'], r['backbone_dtype']) for r in rows] == [
        (True, 'bfloat16')] * 3
    assert [(r['fold_norms'], r['batch_norms']) for r in rows] == [
        (True, 0)] * 3
    assert 'AMP  BN folded batch 1' in format_row(rows[0])
    # One timed run by default: no median in the row.
    assert [len(r['runs']) for r in rows] == [1, 1, 1]
    assert 'median' not in format_row(rows[0])
    fp32 = benchmark_predict.main([
        '--work-dir', str(tmp_path), '--sizes', '48', '--methods', 'slide',
        '--model', 'tiny', '--window', '32', '32', '--stride', '16', '16',
        '--threads', '1'
    ])
    assert (fp32[0]['amp'], fp32[0]['backbone_dtype']) == (False, 'float32')
    # The tiny LANet R18: 3 norms in the stem, 19 in the blocks, 2 in the
    # head's reductions.
    assert (fp32[0]['fold_norms'], fp32[0]['batch_norms']) == (False, 24)


def test_repeats_below_one_is_an_error(capsys):
    import pytest
    with pytest.raises(SystemExit) as error:
        benchmark_predict.main(['--repeats', '0'])
    assert error.value.code == 2
    assert '--repeats must be at least 1, got 0' in capsys.readouterr().err


def test_missing_device_is_an_error_before_any_raster(tmp_path, capsys):
    import pytest
    import torch
    if torch.cuda.is_available():
        pytest.skip('this machine has CUDA')
    with pytest.raises(SystemExit) as error:
        benchmark_predict.main(['--work-dir', str(tmp_path / 'w'),
                                '--device', 'cuda', '--sizes', '64'])
    assert error.value.code == 2
    assert (f"device 'cuda': CUDA is not available here (torch "
            f'{torch.__version__}); use cpu') in capsys.readouterr().err
    assert not (tmp_path / 'w').exists()


def test_summary_ratios():
    rows = [dict(size=2048, method='predict', peak_rss_mib=1000.),
            dict(size=12000, method='predict', peak_rss_mib=1100.),
            dict(size=2048, method='slide', seconds=30.),
            dict(size=2048, method='blend', seconds=10.)]
    assert summarise(rows) == [
        'peak RSS 12000^2 / 2048^2 (bounded predict): 1.10 (target <= 1.2)',
        '2048^2: MMSeg slide / blend time: 3.00x']


def test_onnxruntime_beside_pytorch(tmp_path):
    """--backend pytorch onnxruntime: the predict method through both, the
    exported model in a process without torch, labels compared (slide and
    blend run on PyTorch only)."""
    rows = benchmark_predict.main([
        '--work-dir', str(tmp_path), '--sizes', '64', '--methods', 'predict',
        '--model', 'tiny', '--window', '32', '32', '--stride', '24',
        '24', '--threads', '1', '--backend', 'pytorch', 'onnxruntime'
    ])
    assert [(r['method'], r['backend']) for r in rows] == [
        ('predict', 'pytorch'), ('predict', 'onnxruntime')]
    ort = rows[1]
    assert ort['torch_imported'] is False and ort['windows'] == 9
    assert ort['peak_rss_mib'] > 20 and ort['seconds'] > 0
    assert 0.999 <= ort['label_agreement'] <= 1
    assert osp.isfile(tmp_path / 'random_tiny.onnx')
    assert osp.isfile(tmp_path / 'out_predict_64_onnxruntime' / 'ortho_64.tif')
    assert 'predict (ORT)' in format_row(ort)
    assert "labels equal to PyTorch's on" in format_row(ort)
    line = next(li for li in summarise(rows) if 'onnxruntime' in li)
    assert line.startswith('64^2 predict: onnxruntime ') and (
        'as fast as PyTorch' in line and 'labels equal on' in line)


def test_peak_rss_is_the_case_process_own():
    """A process started from this one (holding torch and more) reports its
    own peak: ru_maxrss keeps the parent's from before exec."""
    import subprocess
    import numpy as np
    from benchmarks.predict_benchmark import peak_rss_mib
    held = np.ones(256 * 2**20 // 8)  # this process: at least 256 MiB more
    code = ('import resource, sys; sys.modules.update(dict.fromkeys(('
            '"torch", "mmcv", "mmengine", "mmseg"))); '
            'from benchmarks.predict_benchmark import peak_rss_mib; '
            'print(peak_rss_mib(), resource.getrusage('
            'resource.RUSAGE_SELF).ru_maxrss / 1024)')
    own, inherited = map(float, subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True,
        check=True, cwd=REPO).stdout.split())
    parent = peak_rss_mib()
    assert held.sum() > 0 and parent > 256
    assert inherited >= parent - 1  # the parent's, not the child's
    assert own < parent / 2
