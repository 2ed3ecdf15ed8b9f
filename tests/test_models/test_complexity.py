"""Params/FLOPs counting and the lanet_complexity tool."""
import os
import os.path as osp
import subprocess
import sys

import pytest
from torch import nn

from mmseg_lanet.models.complexity import (build_segmentor, input_bands,
                                           measure_complexity)

ROOT = osp.join(osp.dirname(__file__), '..', '..')
CONFIGS = osp.join(ROOT, 'configs', 'lanet')
POTSDAM = '_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512.py'


def test_counts_a_convolution_exactly():
    conv = nn.Conv2d(5, 8, 3, padding=1)
    result = measure_complexity(conv, (5, 16, 12), name='conv')
    assert result.params == 8 * 5 * 9 + 8
    assert result.flops == 16 * 12 * 8 * 5 * 9  # one per multiply-add
    with pytest.raises(ValueError, match=r'input_shape must be \(bands, H, '
                       r'W\), got \(16, 12\)'):
        measure_complexity(conv, (16, 12))


def test_lanet_head_cost_over_the_fcn_baseline():
    fcn, lanet, authors = (osp.join(CONFIGS, name + POTSDAM)
                           for name in ('fcn', 'lanet', 'lanet-authors'))
    assert input_bands(lanet) == 5
    shape = (5, 128, 128)
    rows = [measure_complexity(build_segmentor(c), shape) for c in
            (fcn, lanet, authors)]
    fcn_row, lanet_row, authors_row = rows
    assert lanet_row.same_backbone(fcn_row)
    assert not authors_row.same_backbone(fcn_row)  # 7x7 stem
    d_params, d_flops = lanet_row.overhead(fcn_row)
    # What LANet adds to the FCN head: the low-level reduction (256 -> 64)
    # and classifier (64 -> 6), PAM and AEM bottlenecks.
    head = build_segmentor(lanet).decode_head
    extra = sum(p.numel() for m in (head.low_reduce, head.conv_seg_low,
                                    head.high_pam, head.low_pam, head.aem)
                for p in m.parameters())
    assert lanet_row.params - fcn_row.params == extra
    assert 0 < d_params < 3 and 0 < d_flops < 5


def test_tool_prints_the_table():
    out = subprocess.run(
        [sys.executable,
         osp.join(ROOT, 'tools', 'analysis_tools', 'lanet_complexity.py'),
         '--size', '64', '64', '--check'],
        capture_output=True, text=True, cwd=ROOT,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith('Input 5x64x64, batch 1.')
    assert lines[2].split()[0] == 'fcn' + POTSDAM[:-3]
    assert lines[2].endswith('baseline')
    assert lines[3].split()[0] == 'lanet' + POTSDAM[:-3]
    assert lines[3].endswith('met')
    assert float(lines[3].split()[4].rstrip('%')) > 0  # dFLOPs
