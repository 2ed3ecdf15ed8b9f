"""A loading process keeps the memory it frees for its next sample."""
import platform
import subprocess
import sys

import pytest

from mmseg_lanet.datasets import malloc_tuning
from mmseg_lanet.datasets.malloc_tuning import reuse_freed_memory

# One "sample": arrays of a 512 x 512 crop's sizes, allocated, touched and
# freed; minor page faults counted over 20 samples in a fresh process.
SAMPLES = r'''
import importlib.util, resource, sys
import numpy as np
if sys.argv[1] == 'tuned':
    # The module alone: importing the package (torch, mmseg) takes seconds.
    spec = importlib.util.spec_from_file_location('tuning', sys.argv[2])
    tuning = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tuning)
    assert tuning.reuse_freed_memory()
    assert tuning.reuse_freed_memory()  # once per process
sizes = [5_000_000, 3_000_000, 1_000_000, 6_000_000]
def sample():
    arrays = [np.ones(n, np.uint8) for n in sizes]
    del arrays
sample()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    sample()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
'''
PAGES = 20 * 15_000_000 // 4096


def faults(mode):
    out = subprocess.run(
        [sys.executable, '-c', SAMPLES, mode, malloc_tuning.__file__],
                         check=True, capture_output=True, text=True)
    return int(out.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != 'glibc',
                    reason='mallopt thresholds are glibc settings')
def test_freed_sample_memory_is_reused_without_page_faults():
    assert reuse_freed_memory()
    untuned = faults('plain')
    if untuned < PAGES // 10:
        pytest.skip(f'this allocator already reuses freed memory '
                    f'({untuned} faults for {PAGES} pages)')
    assert faults('tuned') < PAGES // 100
