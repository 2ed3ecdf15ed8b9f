"""glibc ``malloc`` settings for the two long-running loops of the package.

Training data loading wants freed memory kept for the next sample
(:func:`reuse_freed_memory`); raster prediction wants resident memory flat
over thousands of windows (:func:`map_large_allocations`,
:func:`heap_trimmer`).

Data loading: a training sample allocates a dozen arrays of 0.25 to 5 MB (the
crop, its float32 bands, the photometric distortion's HSV planes, the packed
tensor) and frees them all at its end. glibc's ``malloc`` serves blocks above
its mmap threshold with fresh ``mmap`` pages, and gives the top of its heap
back to the kernel once more than its trim threshold lies free there. Both
thresholds start low and move with the process's history (glibc raises them
after freeing a mapped block of up to 32 MB), so the same pipeline either
reuses its memory or takes a page fault for every 4 KiB of every array of every
sample: about 3,200 faults and half of a 512 x 512 sample's CPU time, measured
on a 6000 x 6000 tile. Fixing the thresholds makes the pipeline's cost
independent of what the process did before.
"""
import ctypes
import functools
import os
import platform
from typing import Callable, Optional

# mallopt parameters, from glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# glibc's own ceiling for its moving mmap threshold (64-bit), and the trim
# threshold it pairs with it: blocks up to 32 MB (a 1024 x 1024 x 5 float32
# crop is 21 MB) come from the heap, and up to 64 MB of freed heap is kept.
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD

# Prediction: every block above 1 MiB gets its own pages, returned when freed.
PREDICT_MMAP_THRESHOLD = 2**20

# (process id, whether glibc accepted): set once per process.
_tuned = (None, False)


@functools.lru_cache(maxsize=None)
def _glibc() -> Optional[ctypes.CDLL]:
    """The process's C library when it is glibc, else None."""
    if platform.libc_ver()[0] != 'glibc':
        return None
    libc = ctypes.CDLL(None)
    libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return libc


def reuse_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds once per process (a forked or
    spawned DataLoader worker sets its own).

    Large blocks then come from the heap, and freed heap memory stays with
    the process for the next sample instead of being returned to the kernel
    and faulted in again. A worker's resident memory grows by at most the
    pipeline's peak working set plus ``TRIM_THRESHOLD``.

    Returns:
        bool: Whether glibc accepted the settings (False on other C
        libraries, where nothing is changed).
    """
    global _tuned
    pid = os.getpid()
    if _tuned[0] == pid:
        return _tuned[1]
    libc = _glibc()
    accepted = libc is not None and (
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
        and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
    _tuned = (pid, accepted)
    return accepted


def map_large_allocations(threshold: int = PREDICT_MMAP_THRESHOLD) -> bool:
    """Serve every allocation above ``threshold`` bytes with its own pages,
    returned to the system when freed (a fixed threshold, process-wide).

    A prediction run's windows allocate and free temporaries of many sizes;
    with glibc's moving threshold (up to 32 MiB) they land in a fragmented
    heap and the resident memory creeps up over thousands of windows.
    Measured on a 12000 x 12000 raster with the tiny LANet: peak RSS
    965 MiB with :func:`heap_trimmer` alone, 812 MiB with both (2048 x 2048:
    713 and 617 MiB), at the same speed; both figures before the quicklook
    stopped holding every label row (683 and 613 MiB since, with both).

    Returns:
        bool: Whether it was set (False off glibc).
    """
    libc = _glibc()
    return libc is not None and libc.mallopt(M_MMAP_THRESHOLD,
                                             threshold) == 1


def heap_trimmer() -> Callable[[], None]:
    """``malloc_trim(0)`` (give freed heap pages back), or a no-op off
    glibc."""
    libc = _glibc()
    if libc is None:
        return lambda: None
    return lambda: libc.malloc_trim(0)
