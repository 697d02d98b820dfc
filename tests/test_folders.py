"""Image folders (torchvision's ImageFolder layout) as a source: `sdae.load_dataset(FOLDER)` and
`sdae data --data FOLDER` on tiny folders generated here, the cache of the decoded arrays, and
each bad folder as one line. Every test caches into its own temporary folder."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from sdae.cli import main
from sdae.data.folders import parse_image_size
from sdae.data.sources import FOLDER_DIGEST, load_dataset, source_facts
from sdae.errors import SdaeError

CLASSES = ("cat", "dog", "bird")
SORTED = ("bird", "cat", "dog")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """The cache folder of this test (created by the first read that writes it)."""
    monkeypatch.setenv("SDAE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def pixels(rng, size=(12, 10), colour=False) -> np.ndarray:
    return rng.integers(0, 256, (*size, 3) if colour else size, dtype=np.uint8)


def make_folder(root, classes=CLASSES, n_train=3, n_test=2, size=(12, 10), colour=False,
                suffix=".png", unlabelled=0):  # fmt: skip
    """``root/train/<class>/i.png`` ... of random pixels: ``{relative path: array}``."""
    rng = np.random.default_rng(0)
    written = {}
    for split, n in (("train", n_train), ("test", n_test), ("unlabelled", unlabelled)):
        for c in classes if split != "unlabelled" else ["."]:
            for i in range(n if split != "unlabelled" or c == "." else 0):
                rel = f"{split}/{c}/{i}{suffix}".replace("/./", "/")
                written[rel] = save(root / rel, pixels(rng, size, colour))
    return written


def save(path, array, **options) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **options)
    return array


def expected(written, split, classes=SORTED) -> np.ndarray:
    return np.stack([written[r] for c in classes for r in sorted(written)
                     if r.startswith(f"{split}/{c}/")])  # fmt: skip


def test_a_grey_folder_reads_every_pixel_with_sorted_classes(tmp_path):
    written = make_folder(tmp_path / "pets")
    for junk in ("train/.DS_Store", "train/cat/Thumbs.db", "README.txt", "test/dog/notes.txt"):
        (tmp_path / "pets" / junk).write_text("not an image")  # skipped by extension
    d = load_dataset(tmp_path / "pets")
    assert d.class_names == ("bird", "cat", "dog") and d.image_shape == (12, 10)
    assert d.train_images.dtype == np.uint8 and d.train_labels.dtype == np.int64
    np.testing.assert_array_equal(d.train_images, expected(written, "train"))
    np.testing.assert_array_equal(d.test_images, expected(written, "test"))
    assert d.train_labels.tolist() == [0] * 3 + [1] * 3 + [2] * 3
    assert d.test_labels.tolist() == [0, 0, 1, 1, 2, 2] and d.unlabelled_images is None
    assert list(d.sha256) == [FOLDER_DIGEST] and len(d.sha256[FOLDER_DIGEST]) == 64
    assert d.name == "pets" and d.source == str(tmp_path / "pets")


def test_colour_images_and_grey_ones_among_them(tmp_path):
    written = make_folder(tmp_path / "c", colour=True)
    grey = save(tmp_path / "c" / "train" / "cat" / "9.png", pixels(np.random.default_rng(1)))
    rgba = np.full((12, 10, 4), (10, 20, 30, 0), np.uint8)
    save(tmp_path / "c" / "test" / "dog" / "9.png", rgba)
    d = load_dataset(tmp_path / "c")
    assert d.image_shape == (12, 10, 3) and d.n_features == 360
    np.testing.assert_array_equal(d.train_images[0], written["train/bird/0.png"])
    np.testing.assert_array_equal(d.train_images[6], np.stack([grey] * 3, axis=-1))
    assert d.test_images[-1].reshape(-1, 3).tolist() == [[10, 20, 30]] * 120  # alpha dropped


@pytest.mark.parametrize("suffix", [".jpg", ".JPEG", ".bmp", ".gif", ".tif", ".webp"])
def test_other_formats(tmp_path, suffix):
    written = make_folder(tmp_path / "f", suffix=suffix)
    d = load_dataset(tmp_path / "f")
    x = d.train_images.astype(int)
    if suffix == ".webp":  # WebP has no grey mode: Pillow reads it as RGB, so colour
        assert d.image_shape == (12, 10, 3)
        x = x.mean(axis=-1)
    assert x.shape == (9, 12, 10) and len(d.train_labels) == 9
    error = np.abs(x - expected(written, "train")).mean()
    assert error < (30 if suffix in (".jpg", ".JPEG", ".webp") else 0.5)  # lossy or exact


def test_mixed_sizes_are_resized_to_the_most_common_with_a_note(tmp_path, capsys):
    make_folder(tmp_path / "m")
    save(tmp_path / "m" / "train" / "cat" / "big.png", np.full((24, 20), 200, np.uint8))
    d = load_dataset(tmp_path / "m")
    assert d.image_shape == (12, 10)
    assert int(d.train_images[6].min()) == int(d.train_images[6].max()) == 200  # cat/big.png
    err = capsys.readouterr().err
    assert err == ("sdae: note: 1 of 16 images are not 12x10; resized to 12x10 (set "
                   "--image-size HxW)\n")  # fmt: skip
    load_dataset(tmp_path / "m")  # from the cache: the same note
    assert "1 of 16 images are not 12x10" in capsys.readouterr().err


def test_image_size_resizes_every_image(tmp_path, capsys):
    make_folder(tmp_path / "s", unlabelled=2)
    d = load_dataset(tmp_path / "s", image_size=(8, 6))
    assert d.image_shape == (8, 6) and d.unlabelled_images.shape == (2, 8, 6)
    assert capsys.readouterr().err == ""  # asked for: no note
    assert source_facts(str(tmp_path / "s"), 0, (6, 6)).image_shape == (6, 6)
    assert main(["data", "--data", str(tmp_path / "s"), "--image-size", "7x5"]) == 0
    out = capsys.readouterr().out
    assert "images: 7x5, 3 classes (grey)" in out and "unlabelled: 2 images" in out
    assert f"sha256 {load_dataset(tmp_path / 's', image_size=(7, 5)).sha256[FOLDER_DIGEST]}" in out


@pytest.mark.parametrize("text, size", [("28x28", (28, 28)), ("28", (28, 28)),
                                        (" 12 X 7 ", (12, 7)), ("4096x1", (4096, 1))])  # fmt: skip
def test_parse_image_size(text, size):
    assert parse_image_size(text) == size


@pytest.mark.parametrize("text", ["0", "100000", "4097x4", "-3", "28x", "axb", "", "2x3x4"])
def test_parse_image_size_refuses(text):
    with pytest.raises(SdaeError, match=f"--image-size {text}: .*each side from 1 to 4096"):
        parse_image_size(text)


def test_classes_txt_orders_the_classes(tmp_path):
    written = make_folder(tmp_path / "o")
    (tmp_path / "o" / "classes.txt").write_text("dog\ncat\n\nbird\n")
    d = load_dataset(tmp_path / "o")
    assert d.class_names == ("dog", "cat", "bird")
    order = expected(written, "train", ["dog", "cat", "bird"])
    np.testing.assert_array_equal(d.train_images, order)
    assert d.train_labels.tolist() == [0] * 3 + [1] * 3 + [2] * 3


def test_unlabelled_images_directly_and_in_folders(tmp_path, capsys):
    make_folder(tmp_path / "u", unlabelled=2)
    save(tmp_path / "u" / "unlabelled" / "batch" / "x.png", np.zeros((12, 10), np.uint8))
    (tmp_path / "u" / "test" / "cat" / "extra").mkdir()  # an empty subfolder: nothing
    d = load_dataset(tmp_path / "u")
    assert d.unlabelled_images.shape == (3, 12, 10) and d.unlabelled_images.dtype == np.uint8
    assert not d.unlabelled_images[2].any()  # batch/x.png, after 0.png and 1.png
    assert main(["data", "--data", str(tmp_path / "u")]) == 0
    assert "train: 9 images   test: 6 images   unlabelled: 3 images" in capsys.readouterr().out


def test_16_bit_images_are_scaled_not_clipped(tmp_path):
    make_folder(tmp_path / "d")
    deep = (np.arange(120, dtype=np.uint16).reshape(12, 10) * 550).astype(np.uint16)
    save(tmp_path / "d" / "train" / "bird" / "0.png", deep)
    d = load_dataset(tmp_path / "d")
    np.testing.assert_array_equal(d.train_images[0], np.round(deep / 65535 * 255))
    assert d.train_images[0].max() == round(119 * 550 / 257)  # 255 only for 65535


def test_exif_orientation_is_applied(tmp_path, capsys):
    written = make_folder(tmp_path / "e")
    stored = pixels(np.random.default_rng(2), size=(10, 12))  # on its side
    exif = Image.Exif()
    exif[0x0112] = 6  # turn 90 degrees clockwise to view
    save(tmp_path / "e" / "train" / "bird" / "0.png", stored, exif=exif)
    d = load_dataset(tmp_path / "e")
    np.testing.assert_array_equal(d.train_images[0], np.rot90(stored, -1))
    np.testing.assert_array_equal(d.train_images[1], written["train/bird/1.png"])
    assert capsys.readouterr().err == ""  # 12x10 once turned: nothing resized


def test_palette_images_are_grey_when_their_colours_are(tmp_path):
    make_folder(tmp_path / "p")
    grey = Image.fromarray(pixels(np.random.default_rng(3))).convert("P")
    grey.save(tmp_path / "p" / "train" / "cat" / "p.png")
    assert load_dataset(tmp_path / "p").image_shape == (12, 10)
    red = Image.new("P", (10, 12), 1)
    red.putpalette([0, 0, 0, 200, 0, 0])  # entry 0 grey, entry 1 (the one used) red
    red.save(tmp_path / "p" / "test" / "cat" / "p.png")
    d = load_dataset(tmp_path / "p")
    assert d.image_shape == (12, 10, 3) and d.test_images[4, 0, 0].tolist() == [200, 0, 0]


def test_the_second_read_comes_from_the_cache(tmp_path, monkeypatch, cache):
    written = make_folder(tmp_path / "k", unlabelled=1)
    first = load_dataset(tmp_path / "k")
    assert len(list(cache.iterdir())) == 1

    def refuse(*args):
        raise AssertionError("decoded although cached")

    monkeypatch.setattr("sdae.data.folders.survey", refuse)
    monkeypatch.setattr("sdae.data.folders.decode_into", refuse)
    again = load_dataset(tmp_path / "k")
    for name in ("train_images", "train_labels", "test_images", "test_labels",
                 "unlabelled_images"):  # fmt: skip
        np.testing.assert_array_equal(getattr(again, name), getattr(first, name))
    assert (again.class_names, again.sha256) == (first.class_names, first.sha256)
    np.testing.assert_array_equal(again.train_images, expected(written, "train"))
    monkeypatch.undo()
    monkeypatch.setenv("SDAE_CACHE_DIR", str(cache))
    one = tmp_path / "k" / "train" / "cat" / "0.png"
    os.utime(one, ns=(one.stat().st_atime_ns, one.stat().st_mtime_ns + 10**9))  # touched
    calls = []
    monkeypatch.setattr("sdae.data.folders.decode_into", lambda *a: calls.append(a[0]))
    load_dataset(tmp_path / "k")
    assert len(calls) == 16  # every image decoded again
    monkeypatch.undo()
    monkeypatch.setenv("SDAE_CACHE_DIR", str(cache))
    save(tmp_path / "k" / "train" / "cat" / "new.png", pixels(np.random.default_rng(4)))
    assert len(load_dataset(tmp_path / "k").train_labels) == 10  # a file added: read again
    assert len(list(cache.iterdir())) == 1  # the folder's entry replaced, no stale one


@pytest.mark.parametrize("damage", [b"", b"garbage", "truncated"])
def test_a_corrupt_cache_file_is_ignored_and_rewritten(tmp_path, cache, damage):
    make_folder(tmp_path / "k")
    first = load_dataset(tmp_path / "k")
    (entry,) = cache.iterdir()
    good = entry.read_bytes()
    entry.write_bytes(good[: len(good) // 2] if damage == "truncated" else damage)
    again = load_dataset(tmp_path / "k")
    np.testing.assert_array_equal(again.train_images, first.train_images)
    assert entry.read_bytes() == good


def test_an_unwritable_cache_folder_skips_caching(tmp_path, monkeypatch):
    make_folder(tmp_path / "k")
    (tmp_path / "file").write_text("in the way")
    monkeypatch.setenv("SDAE_CACHE_DIR", str(tmp_path / "file" / "cache"))
    assert load_dataset(tmp_path / "k").train_images.shape == (9, 12, 10)


def _loop(t):
    make_folder(t / "l")
    os.symlink(t / "l" / "train", t / "l" / "train" / "cat" / "up")
    return t / "l"


def _self_link(t):
    make_folder(t / "s")
    os.symlink("me", t / "s" / "train" / "cat" / "me")
    return t / "s"


def _write(rel, data, folder="x", **kw):
    def make(t):
        make_folder(t / folder, **kw)
        (t / folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (t / folder / rel).write_bytes(data() if callable(data) else data)
        return t / folder

    return make


def _png_bytes(size=(12, 10)) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.fromarray(pixels(np.random.default_rng(5), size)).save(buffer, "PNG")
    return buffer.getvalue()


def _empty_class(t):
    make_folder(t / "e")
    (t / "e" / "train" / "fish").mkdir()
    return t / "e"


def _no_test(t):
    make_folder(t / "n", n_test=0)
    return t / "n"


BAD = {
    "no class folders": (lambda t: [(t / "n" / s).mkdir(parents=True) for s in ("train", "test")]
                         and t / "n", [], "train/ holds no class folders"),
    "a class folder without images": (_empty_class, [], "fish: a class folder without images"),
    "one class only": (lambda t: make_folder(t / "o", classes=["cat"]) and t / "o", [],
                       "train/ holds one class only (cat)"),
    "a corrupt image": (_write("train/cat/9.png", b"not a png at all"), [],
                        "x/train/cat/9.png: not an image sdae reads"),
    "a truncated image": (_write("train/dog/9.png", lambda: _png_bytes()[:100]), [],
                          "x/train/dog/9.png: a broken or truncated image"),
    "a 0-byte image": (_write("test/cat/9.jpg", b""), [],
                       "x/test/cat/9.jpg: an empty file (0 bytes)"),
    "a test class not in train": (_write("test/fish/0.png", _png_bytes), [],
                                  "test/fish holds labels outside the classes of train/"),
    "classes.txt naming others": (_write("classes.txt", b"cat\ndog\nfish\n"), [],
                                  "labels outside the classes"),
    "classes.txt naming one twice": (_write("classes.txt", b"cat\ndog\ncat\nbird\n"), [],
                                     "classes.txt: 'cat' is named twice"),
    "a symlink loop": (_loop, [], "train/cat/up: a symlink loop"),
    "a link to itself": (_self_link, [], "train/cat/me: a symlink loop"),
    "--image-size 0": (lambda t: make_folder(t / "z") and t / "z", ["--image-size", "0"],
                       "--image-size 0: 0x0 is out of range"),
    "--image-size 100000": (lambda t: make_folder(t / "z") and t / "z",
                            ["--image-size", "100000"], "--image-size 100000: 100000x100000"),
    "no test folder": (_no_test, [], "no test/ folder; an image folder holds train/<class>/"),
    "an image directly in train/": (_write("train/9.png", _png_bytes), [],
                                    "train/9.png: an image directly in train/"),
}  # fmt: skip


def tree(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def refused_in_one_line(source, argv, message, capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    before = tree(tmp_path)
    assert main(["data", "--data", str(source), *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("sdae: error: ")
    assert message in err, err
    assert tree(tmp_path) == before  # nothing written, not even the cache


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_folder_is_one_line_and_writes_nothing(case, tmp_path, capsys, monkeypatch):
    make, argv, message = BAD[case]
    refused_in_one_line(make(tmp_path), argv, message, capsys, monkeypatch, tmp_path)


@pytest.mark.parametrize("limit", [100, 50])  # 12x10 images: Pillow's warning, then its error
def test_a_decompression_bomb_is_refused(limit, tmp_path, capsys, monkeypatch):
    make_folder(tmp_path / "b")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    message = "b/train/bird/0.png: refused as a decompression bomb"
    refused_in_one_line(tmp_path / "b", [], message, capsys, monkeypatch, tmp_path)


def test_a_folder_too_large_to_decode_asks_for_a_smaller_size(tmp_path, capsys, monkeypatch):
    make_folder(tmp_path / "t")
    monkeypatch.setattr("sdae.data.folders.MAX_DECODED_BYTES", 1000)
    message = "15 images of 12x10 take 1800 bytes decoded, over the 1000 bytes sdae reads; pass"
    refused_in_one_line(tmp_path / "t", [], message, capsys, monkeypatch, tmp_path)


def test_32_bit_tiffs_are_scaled_by_their_bits(tmp_path):
    make_folder(tmp_path / "i")
    deep = np.zeros((12, 10), np.int32)
    deep[0, :4] = (2**31 - 1, 2**30, -5, 2**23)
    save(tmp_path / "i" / "train" / "bird" / "0.tif", deep)
    d = load_dataset(tmp_path / "i")
    assert d.train_images[1, 0, :4].tolist() == [255, 128, 0, 1]  # bird/0.tif after 0.png


def test_sae_on_an_image_folder_pretrains_on_the_unlabelled_images_then_encode(tmp_path):
    """`sdae sae --data FOLDER --image-size`: the unlabelled images join pretraining's pool,
    config.json records the size and the digest; `sdae encode` writes train, test and
    unlabelled codes."""
    import json

    from sdae.cli import main

    make_folder(tmp_path / "pets", n_train=6, n_test=3, size=(12, 10), unlabelled=7)
    run, codes = tmp_path / "run", tmp_path / "codes.npz"
    assert main(["sae", "--data", str(tmp_path / "pets"), "--image-size", "8x9", "--arch",
                 "72-5", "--labels-per-class", "2", "--pretrain-iterations", "3",
                 "--finetune-iterations", "3", "--out", str(run), "--quiet"]) == 0  # fmt: skip
    config = json.loads((run / "config.json").read_text())
    assert config["image_size"] == [8, 9] and config["sizes"] == [72, 5]
    assert list(config["data_sha256"]) == ["decoded images and labels"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n_train"] == 18 and metrics["n_test"] == 9
    assert main(["encode", "--model", str(run), "--out", str(codes)]) == 0
    with np.load(codes) as npz:
        assert npz["codes"].shape == (18 + 9 + 7, 5)
        assert list(np.unique(npz["split"])) == ["test", "train", "unlabelled"]
        assert (npz["labels"][npz["split"] == "unlabelled"] == -1).all()


def test_pretraining_reads_the_unlabelled_images(tmp_path):
    from sdae.data.splits import load_splits

    make_folder(tmp_path / "pets", n_train=4, n_test=2, unlabelled=5)
    train, _ = load_splits("full", 0, "cpu", source=str(tmp_path / "pets"))
    assert train.unlabelled.shape == (5, 120) and len(train.pool) == 12 + 5
