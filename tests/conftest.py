import os
import tempfile

import pytest

from sdae.data.fashion_mnist import load_fashion_mnist
from sdae.errors import SdaeError

# precision "auto" never picks bf16 in the tests (and the processes they start), so that
# their numbers do not depend on the machine; tests/test_precision.py tests the choice itself
os.environ["SDAE_NO_BF16"] = "1"
# caches (sdae semi's graph codes, decoded folders) go to a folder of this test session, not
# the user's ~/.cache: a test never reads what an earlier session or a run by hand left
os.environ["SDAE_CACHE_DIR"] = tempfile.mkdtemp(prefix="sdae-test-cache-")


@pytest.fixture(autouse=True)
def _same_threads_after_each_test():
    """Float results depend on torch's thread count: a test that changes it must not change
    it for the tests after it (resumed reproductions compare numbers bit for bit)."""
    import torch

    threads = torch.get_num_threads()
    yield
    assert torch.get_num_threads() == threads, "this test changed torch's thread count"


@pytest.fixture(scope="session")
def fmnist():
    """The real Fashion-MNIST. In CI (where `make data` ran first) its absence is a failure."""
    try:
        return load_fashion_mnist(download=False)
    except SdaeError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Fashion-MNIST missing in CI: {exc}")
        pytest.skip(f"Fashion-MNIST not available: {exc}")


@pytest.fixture(scope="session")
def paper_splits(fmnist):
    from sdae.data.splits import protocol_splits

    return protocol_splits(fmnist, "paper", seed=0)


@pytest.fixture(scope="session")
def smoke(tmp_path_factory, fmnist):
    """``sdae reproduce --preset smoke`` run once, uninterrupted: ``(folder, results)``."""
    from sdae.reproduce.runner import reproduce

    out = tmp_path_factory.mktemp("rep") / "smoke"
    doc = reproduce("smoke", 1, out, quiet=True)
    return out, doc


@pytest.fixture
def one_thread():
    """Tiny convolutions: one thread is ~10x faster than two on a busy 2-core machine (the
    second thread waits for a core at every layer). Modules opt in with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
