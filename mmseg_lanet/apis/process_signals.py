"""How a prediction process ends when it is told to stop (SIGTERM, sent by
``kill``, by ``tools/dist_predict.sh`` when another process failed, or by
Slurm when a job is cancelled).

Python's default is to end at once, which leaves the temporary file of the
map being written (never under its final name, but left in the output
folder). While predicting, SIGTERM raises ``SystemExit(143)`` instead, so
the writers drop their temporary files on the way out, as they do on
Ctrl-C. Outside the prediction the default stays: a process waiting in a
collective of its process group runs no Python handler until the
collective returns, and must still end when told.
"""
import contextlib
import signal
import threading

# 128 + the signal's number, as a shell reports a process the signal ended.
TERMINATED = 128 + signal.SIGTERM


def _raise_exit(signum, frame):
    raise SystemExit(TERMINATED)


@contextlib.contextmanager
def sigterm_raises():
    """In the block, SIGTERM raises ``SystemExit(143)``; the previous
    handler is restored after it. Outside the main thread, where Python
    delivers no signals, the block runs unchanged."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
