import gzip
import struct

import numpy as np
import pytest

from sdae.data import fashion_mnist
from sdae.data.fashion_mnist import locate_data, read_split
from sdae.data.idx import parse_idx, read_idx
from sdae.data.protocols import stratified_indices
from sdae.data.splits import protocol_splits
from sdae.errors import SdaeError


def idx_bytes(arr: np.ndarray, magic: int | None = None) -> bytes:
    arr = np.asarray(arr, dtype=np.uint8)
    if magic is None:
        magic = 0x801 if arr.ndim == 1 else 0x803
    dims = b"".join(struct.pack(">I", d) for d in arr.shape)
    return struct.pack(">I", magic) + dims + arr.tobytes()


def write(path, raw: bytes, gz: bool):
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)
    return path


def fake_folder(folder, n_train=20, n_test=10, gz=True):
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("test", n_test)):
        img, lbl = fashion_mnist.SPLITS[split]
        suffix = ".gz" if gz else ""
        write(folder / f"{img}{suffix}", idx_bytes(rng.integers(0, 256, (n, 28, 28))), gz)
        write(folder / f"{lbl}{suffix}", idx_bytes(np.arange(n) % 10), gz)
    return folder


@pytest.mark.parametrize("gz", [True, False])
def test_idx_roundtrip_gz_and_plain(tmp_path, gz):
    images = np.random.default_rng(1).integers(0, 256, (3, 28, 28)).astype(np.uint8)
    path = write(tmp_path / ("x.gz" if gz else "x"), idx_bytes(images), gz)
    np.testing.assert_array_equal(read_idx(path), images)


def test_wrong_magic_names_the_file(tmp_path):
    path = write(tmp_path / "bad-images", idx_bytes(np.zeros((2, 28, 28)), magic=0x0D03), False)
    with pytest.raises(SdaeError, match=r"bad-images: wrong magic number 0x00000d03"):
        read_idx(path)


def test_truncated_data(tmp_path):
    raw = idx_bytes(np.zeros((4, 28, 28)))[:-10]
    path = write(tmp_path / "short.gz", raw, True)
    with pytest.raises(SdaeError, match=r"short.gz: truncated or padded data: header says 4x28x28"):
        read_idx(path)


def test_truncated_header_and_tiny_file(tmp_path):
    with pytest.raises(SdaeError, match="too short"):
        parse_idx(b"\x00\x00", "tiny")
    with pytest.raises(SdaeError, match="truncated header"):
        parse_idx(struct.pack(">I", 0x803) + b"\x00\x00\x00\x02", "hdr")


def test_not_gzip_named_gz(tmp_path):
    path = write(tmp_path / "fake.gz", idx_bytes(np.zeros(3)), False)
    with pytest.raises(SdaeError, match="fake.gz: cannot read it"):
        read_idx(path)


def test_count_mismatch_names_both_files(tmp_path):
    fake_folder(tmp_path)
    write(tmp_path / "t10k-labels-idx1-ubyte.gz", idx_bytes(np.zeros(7)), True)
    with pytest.raises(SdaeError, match=r"holds 10 images but .*t10k-labels.* holds 7 labels"):
        read_split(tmp_path, "test", verify=False)


def test_label_out_of_range(tmp_path):
    fake_folder(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.full(20, 12)), True)
    with pytest.raises(SdaeError, match=r"train-labels-idx1-ubyte.gz: label 12 outside 0-9"):
        read_split(tmp_path, "train", verify=False)


def test_sha256_checked_for_every_source(tmp_path):
    fake_folder(tmp_path)  # right names and format, wrong contents
    with pytest.raises(SdaeError, match="SHA-256 of its contents does not match"):
        read_split(tmp_path, "train")


def test_locate_prefers_explicit_then_search_order(tmp_path, monkeypatch):
    monkeypatch.delenv("SDAE_DATA", raising=False)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = fake_folder(tmp_path / "a")
    second = fake_folder(tmp_path / "b", gz=False)
    assert locate_data(search=(first, second), download=False) == first
    assert locate_data(search=(tmp_path / "nothing", second), download=False) == second
    assert locate_data(second, search=(first,), download=False) == second
    monkeypatch.setenv("SDAE_DATA", str(second))
    assert locate_data(search=(first,), download=False) == second


def test_no_data_anywhere_lists_three_ways(tmp_path, monkeypatch):
    monkeypatch.delenv("SDAE_DATA", raising=False)
    with pytest.raises(SdaeError) as err:
        locate_data(search=(tmp_path / "x", tmp_path / "y"), download=False)
    msg = str(err.value)
    assert "\n" not in msg
    assert "--data-dir" in msg and "apt-get install dataset-fashion-mnist" in msg
    assert "sdae data" in msg and "download" in msg


def test_explicit_dir_without_files(tmp_path):
    with pytest.raises(SdaeError, match="does not hold the four Fashion-MNIST IDX files"):
        locate_data(tmp_path, download=False)


def test_stratified_indices_balanced_and_reproducible():
    labels = np.repeat(np.arange(10), 50)
    a = stratified_indices(labels, 7, seed=3)
    assert np.bincount(labels[a], minlength=10).tolist() == [7] * 10
    assert len(set(a.tolist())) == 70
    np.testing.assert_array_equal(a, stratified_indices(labels, 7, seed=3))
    assert not np.array_equal(a, stratified_indices(labels, 7, seed=4))
    with pytest.raises(SdaeError, match="only 50 exist"):
        stratified_indices(labels, 51, seed=0)


def test_real_data_sizes_and_balance(fmnist):
    assert fmnist.train_images.shape == (60000, 28, 28)
    assert fmnist.test_images.shape == (10000, 28, 28)
    assert np.bincount(fmnist.train_labels).tolist() == [6000] * 10
    assert np.bincount(fmnist.test_labels).tolist() == [1000] * 10


def test_paper_protocol(fmnist):
    train, test = protocol_splits(fmnist, "paper", seed=0)
    assert train.x.shape == (6000, 784) and test.x.shape == (600, 784)
    assert train.x.dtype.is_floating_point and 0 <= train.x.min() and train.x.max() <= 1
    assert np.bincount(train.y.numpy()).tolist() == [600] * 10
    assert np.bincount(test.y.numpy()).tolist() == [60] * 10
    again, _ = protocol_splits(fmnist, "paper", seed=0)
    np.testing.assert_array_equal(train.index, again.index)
    other, _ = protocol_splits(fmnist, "paper", seed=1)
    assert not np.array_equal(train.index, other.index)
    full_train, full_test = protocol_splits(fmnist, "full", seed=0)
    assert len(full_train) == 60000 and len(full_test) == 10000
