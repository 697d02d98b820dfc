"""sdae.load_dataset and `sdae data --data SOURCE`: digits, IDX folders and .npz files a user
has (generated here, small), and each bad source as one line."""

from __future__ import annotations

import gzip
import hashlib
import os

import numpy as np
import pytest

from sdae.cli import main
from sdae.data.sources import load_dataset
from sdae.errors import SdaeError


def idx_bytes(array: np.ndarray) -> bytes:
    """``array`` (uint8, 1 or 3 dimensions) as IDX bytes: magic, sizes, data."""
    magic = {1: 0x801, 3: 0x803}[array.ndim]
    head = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return head + array.astype(np.uint8).tobytes()


def make_idx_folder(folder, n_train=30, n_test=10, size=(12, 10), classes=3, gz=True):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, *size), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.arange(n_train, dtype=np.uint8) % classes,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, *size), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.arange(n_test, dtype=np.uint8) % classes,
    }
    for name, a in arrays.items():
        data = idx_bytes(a)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return arrays


def make_npz(path, dtype=np.uint8, **override):
    rng = np.random.default_rng(1)
    arrays = {"x_train": rng.integers(0, 256, (20, 9, 7, 3)).astype(np.uint8),
              "y_train": np.arange(20) % 4, "x_test": rng.integers(0, 256, (8, 9, 7, 3))
              .astype(np.uint8), "y_test": np.arange(8) % 4}  # fmt: skip
    if dtype != np.uint8:
        arrays["x_train"] = (arrays["x_train"] / 255).astype(dtype)
        arrays["x_test"] = (arrays["x_test"] / 255).astype(dtype)
    arrays.update(override)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, **arrays)
    return arrays


def test_digits_is_a_stratified_80_20_split_of_the_1797_images():
    d = load_dataset("digits", data_seed=0)
    assert (len(d.train_labels), len(d.test_labels)) == (1437, 360)
    assert d.image_shape == (8, 8) and d.n_features == 64 and d.n_classes == 10
    assert d.train_images.dtype == np.uint8 and d.train_images.max() == 255
    assert np.bincount(d.test_labels).min() >= 35  # every class in the test split
    other = load_dataset("digits", data_seed=1)
    assert not np.array_equal(d.test_labels, other.test_labels)  # the seed draws the split


@pytest.mark.parametrize("gz", [True, False])
def test_an_idx_folder_of_any_size_and_class_count(tmp_path, gz):
    arrays = make_idx_folder(tmp_path / "mine", size=(12, 10), classes=3, gz=gz)
    d = load_dataset(tmp_path / "mine")
    assert d.image_shape == (12, 10) and d.class_names == ("0", "1", "2")
    np.testing.assert_array_equal(d.train_images, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(d.test_labels, arrays["t10k-labels-idx1-ubyte"])
    name = "train-images-idx3-ubyte" + (".gz" if gz else "")
    expected = hashlib.sha256(idx_bytes(arrays["train-images-idx3-ubyte"])).hexdigest()
    assert d.sha256[name] == expected  # the IDX bytes, as Fashion-MNIST's are checked


def test_class_names_come_from_classes_txt(tmp_path):
    make_idx_folder(tmp_path / "mine", classes=3)
    (tmp_path / "mine" / "classes.txt").write_text("cat\ndog\nbird\nfish\n")
    d = load_dataset(tmp_path / "mine")
    assert d.class_names == ("cat", "dog", "bird", "fish") and d.n_classes == 4


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_an_npz_of_colour_images(tmp_path, dtype):
    arrays = make_npz(tmp_path / "mine.npz", dtype)
    d = load_dataset(tmp_path / "mine.npz")
    assert d.image_shape == (9, 7, 3) and d.n_features == 189 and d.n_classes == 4
    expected = arrays["x_train"] if dtype == np.uint8 else np.round(arrays["x_train"] * 255)
    np.testing.assert_array_equal(d.train_images, expected.astype(np.uint8))


def test_sdae_data_describes_a_source_with_its_digests(tmp_path, capsys):
    make_idx_folder(tmp_path / "mine", classes=3)
    assert main(["data", "--data", str(tmp_path / "mine")]) == 0
    out = capsys.readouterr().out
    assert "train: 30 images   test: 10 images" in out and "images: 12x10, 3 classes" in out
    assert out.count("sha256 ") == 4


def test_a_gzip_bomb_in_a_folder_is_refused(tmp_path, monkeypatch):
    """A gzip that inflates past the limit is refused while it is read, not after."""
    monkeypatch.setattr("sdae.data.sources.MAX_USER_IDX_BYTES", 1000)
    make_idx_folder(tmp_path / "bomb")
    (tmp_path / "bomb" / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\0" * 2**20))
    with pytest.raises(SdaeError, match="over 1000 bytes once decompressed"):
        load_dataset(tmp_path / "bomb")


BAD = {
    "an empty folder": (lambda t: (t / "e").mkdir() or t / "e",
                        "no train-images-idx3-ubyte (or train-images-idx3-ubyte.gz)"),
    "one class only": (lambda t: make_idx_folder(t / "one", classes=1) and t / "one",
                       "the training images have one class only"),
    "counts that differ": (lambda t: (make_idx_folder(t / "c"), (t / "c" / "t10k-labels-idx1-"
                           "ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(9)))))
                           and t / "c", "10 test images but 9 test labels"),
    "labels outside the classes": (lambda t: (make_idx_folder(t / "l", classes=3), (t / "l" /
                                   "classes.txt").write_text("a\nb\n")) and t / "l",
                                   "label 2 is outside the 2 classes"),
    "a 0-byte file": (lambda t: (make_idx_folder(t / "z"), (t / "z" / "t10k-images-idx3-ubyte.gz")
                      .write_bytes(b"")) and t / "z", "an empty file (0 bytes)"),
    "a truncated IDX file": (lambda t: (make_idx_folder(t / "t", gz=False), (t / "t" /
                             "train-images-idx3-ubyte").write_bytes(b"\0\0\x08\x03\0"))
                             and t / "t", "truncated header"),
    "an .npz without a key": (lambda t: make_npz(t / "k.npz", y_test=None) and t / "k.npz",
                              "no array 'y_test' in it"),
    "an .npz of strings": (lambda t: make_npz(t / "s.npz", x_train=np.array([["a"]]))
                           and t / "s.npz", "x_train is <U1 [1, 1]"),
    "an empty .npz file": (lambda t: (t / "e.npz").write_bytes(b"") or t / "e.npz",
                           "an empty file (0 bytes)"),
    "floats beyond [0, 1]": (lambda t: make_npz(t / "f.npz", x_train=np.full((20, 9, 7, 3), 2.0))
                             and t / "f.npz", "floats outside [0, 1]"),
    "no such path": (lambda t: t / "nowhere", "no such file or folder"),
    "a symlink loop": (lambda t: (os.symlink(t / "loop", t / "loop"), t / "loop")[1],
                       "cannot read it"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_source_is_one_line_and_writes_nothing(case, tmp_path, capsys, monkeypatch):
    make, message = BAD[case]
    source = make(tmp_path)
    with pytest.raises(SdaeError, match=None) as err:
        load_dataset(source)
    assert message in str(err.value) and "\n" not in str(err.value)
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["data", "--data", str(source)]) == 2
    line = capsys.readouterr().err
    assert line.count("\n") == 1 and message in line
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_protocols_on_any_data_set():
    """`full` takes every image; `mini` (100 / 30 per class) applies where each class has
    that many; `paper` (600 / 60) is refused on digits in one line; rows are H*W*C pixels."""
    from sdae.data.splits import labelled_indices, protocol_splits

    digits = load_dataset("digits")
    train, test = protocol_splits(digits, "full", 0)
    assert train.x.shape == (1437, 64) and test.x.shape == (360, 64)
    assert float(train.x.max()) == 1.0 and float(train.x.min()) == 0.0
    train, test = protocol_splits(digits, "mini", 0)
    assert np.bincount(train.y.numpy()).tolist() == [100] * 10
    assert np.bincount(test.y.numpy()).tolist() == [30] * 10
    with pytest.raises(SdaeError, match="the paper protocol takes 600 training and 60 test"):
        protocol_splits(digits, "paper", 0)
    assert len(labelled_indices(train, 5, 0)) == 50


def test_colour_images_flatten_to_h_w_c(tmp_path):
    from sdae.data.splits import protocol_splits

    arrays = make_npz(tmp_path / "c.npz")
    train, _ = protocol_splits(load_dataset(tmp_path / "c.npz"), "full", 0)
    assert train.x.shape == (20, 9 * 7 * 3)
    np.testing.assert_allclose(train.x[3].numpy(), arrays["x_train"][3].reshape(-1) / 255)


def test_sae_and_baselines_read_any_source(tmp_path, capsys):
    """`--data` on `sdae sae` and `sdae baseline`: the MLP's input and the classes follow
    the data; digits read from the bundled set and from an IDX folder of the same images give
    the same numbers (two code paths, one result)."""
    import json

    from sdae.config import from_flags

    digits = load_dataset("digits")
    folder = tmp_path / "my-digits"
    folder.mkdir()
    for name, a in {"train-images-idx3-ubyte": digits.train_images,
                    "train-labels-idx1-ubyte": digits.train_labels,
                    "t10k-images-idx3-ubyte": digits.test_images,
                    "t10k-labels-idx1-ubyte": digits.test_labels}.items():  # fmt: skip
        (folder / name).write_bytes(idx_bytes(a))
    config = from_flags("sae", {"data": str(folder)})
    assert (config.sizes, config.protocol, config.data) == ((64, 100), "full", str(folder))
    quick = ["--labels-per-class", "5", "--pretrain-iterations", "30",
             "--finetune-iterations", "30", "--quiet"]  # fmt: skip
    for name, data in (("a", "digits"), ("b", str(folder))):
        assert main(["sae", "--data", data, "--out", str(tmp_path / name), *quick]) == 0
    a, b = (json.loads((tmp_path / n / "metrics.json").read_text()) for n in "ab")
    assert a["test_accuracy"] == b["test_accuracy"] > 0.5 and a["n_test"] == 360
    assert len(a["confusion_matrix"]) == 10
    assert main(["baseline", "knn", "--data", "digits", "--labels-per-class", "5",
                 "--out", str(tmp_path / "knn"), "--quiet"]) == 0  # fmt: skip
    capsys.readouterr()
    for argv, message in (
        (["sae", "--data", "digits", "--arch", "784-100"], "--arch 784-100 must start with 64"),
        (["sae", "--data", "digits", "--protocol", "paper"], "--protocol paper takes 600"),
        (["baseline", "cnn", "--data", str(make_npz(tmp_path / "small.npz") and
                                             tmp_path / "small.npz")],
         "baseline cnn takes images of at least 8x8 with 1 to 4 channels, and those of "
         "small.npz are 9x7x3 images"),
    ):
        assert main([*argv, "--out", str(tmp_path / "refused")]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()


def test_dae_on_another_grey_data_set(tmp_path, capsys):
    """`sdae dae --data`: the MLP DAE's input is the data's pixels and its scores are taken
    on images of the data's size; the conv DAE on images under 8x8 is one line."""
    import json

    out = tmp_path / "dae"
    assert main(["dae", "--data", "digits", "--hidden", "16", "--iterations", "50",
                 "--train-noise", "0.1", "--out", str(out), "--quiet"]) == 0  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert (config["data"], config["protocol"], config["test_noise"]) == ("digits", "full", 0.1)
    assert metrics["n_test"] == 360 and 0 < metrics["ssim_noisy"] < 1
    assert (out / "reconstructions.png").stat().st_size > 0
    capsys.readouterr()
    make_npz(tmp_path / "colour.npz")
    for argv, message in ((["--data", str(tmp_path / "colour.npz"), "--model", "conv"],
                           "the conv DAE takes images of at least 8x8"),):  # fmt: skip
        assert main(["dae", *argv, "--out", str(tmp_path / "refused")]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()
