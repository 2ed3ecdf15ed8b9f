import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny CPU models gain nothing from intra-op threads, and on a shared
    2-core machine the OpenMP workers of concurrent processes spin against
    each other (10x slower runs were seen); restored after each test."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
