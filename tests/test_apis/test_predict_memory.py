"""What predict_raster keeps while it runs: nothing that grows with the
raster beyond the band of rows."""
import numpy as np
import torch

from mmseg_lanet.apis.raster_inference import _LabelSink


class _Recorder:
    """A label writer that keeps what it is given."""

    def __init__(self):
        self.rows = []

    def write(self, first, array):
        self.rows.append((first, array))


def _released_rows(sink, probs, valid, chunk):
    for first in range(0, probs.shape[1], chunk):
        sink(first, probs[:, first:first + chunk], valid[first:first + chunk])


def test_quicklook_keeps_strided_copies_not_label_rows():
    probs = torch.rand(4, 11, 10, generator=torch.Generator().manual_seed(0))
    valid = torch.ones(11, 10, dtype=torch.bool)
    valid[0, 0] = False
    writer = _Recorder()
    sink = _LabelSink(dict(labels=writer), step=3)
    _released_rows(sink, probs, valid, chunk=4)
    labels = probs.argmax(0).to(torch.uint8).numpy()
    labels[0, 0] = 255
    assert [first for first, _ in writer.rows] == [0, 4, 8]
    np.testing.assert_array_equal(
        np.concatenate([rows for _, rows in writer.rows]), labels)
    # Every third row and column, whatever row each chunk starts at.
    np.testing.assert_array_equal(np.concatenate(sink.quicklook_rows),
                                  labels[::3, ::3])
    assert [r.shape for r in sink.quicklook_rows] == [(2, 4), (1, 4), (1, 4)]
    # A view would hold its whole chunk of label rows: the full label
    # raster by the end of a run.
    for kept, (_, rows) in zip(sink.quicklook_rows, writer.rows):
        assert kept.flags.owndata and not np.shares_memory(kept, rows)


def test_no_quicklook_keeps_no_rows():
    probs = torch.rand(3, 6, 5, generator=torch.Generator().manual_seed(1))
    valid = torch.ones(6, 5, dtype=torch.bool)
    writer = _Recorder()
    sink = _LabelSink(dict(labels=writer), step=None)
    _released_rows(sink, probs, valid, chunk=4)
    assert sink.quicklook_rows == []
    np.testing.assert_array_equal(
        np.concatenate([rows for _, rows in writer.rows]),
        probs.argmax(0).to(torch.uint8).numpy())
