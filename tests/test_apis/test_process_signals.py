"""sigterm_raises: SIGTERM ends a prediction through an exception (so open
writers drop their temporary files), only inside the block."""
import os
import signal
import threading
import time

import pytest

from mmseg_lanet.apis.process_signals import TERMINATED, sigterm_raises


def test_sigterm_raises_inside_the_block_only():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as info:
        with sigterm_raises():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler interrupts this
    assert info.value.code == TERMINATED == 143
    assert signal.getsignal(signal.SIGTERM) is before


def test_writer_in_the_block_drops_its_temporary_file(tmp_path):
    import numpy as np
    from mmseg_lanet.datasets.georaster import RasterWriter
    with pytest.raises(SystemExit):
        with sigterm_raises(), RasterWriter(str(tmp_path / 'map.tif'), 64,
                                            32) as writer:
            writer.write(0, np.zeros((16, 32), np.uint8))
            assert [n for n in os.listdir(tmp_path) if '.partial-' in n]
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
    assert os.listdir(tmp_path) == []


def test_outside_the_main_thread_the_block_changes_nothing():
    seen = []

    def work():
        with sigterm_raises():
            seen.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [before]
