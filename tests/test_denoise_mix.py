"""`--data denoise-mix`: the photo denoiser's training patches (photographs of skimage.data,
dead leaves, Fashion-MNIST mosaics), seeded, labelled by kind, and usable by `sdae dae`."""

import json

import numpy as np
import pytest

from sdae.cli import main
from sdae.config.flags import from_flags
from sdae.data import denoise_mix as mix
from sdae.data.sources import BUILTIN, MIX_FACTS, load_dataset, source_facts


def rng(seed=0):
    return np.random.default_rng(seed)


def test_photographs_load_offline_and_the_held_out_ones_are_never_read(monkeypatch):
    import skimage.data

    for name in mix.HELD_OUT:
        monkeypatch.setattr(skimage.data, name, lambda: pytest.fail("a held-out photo was read"))
    assert not set(mix.PHOTOS) & set(mix.HELD_OUT)
    x = mix.photo_patches(56, rng(1))  # 2 crops of each photograph at each scale
    assert x.shape == (56, 64, 64) and x.dtype == np.uint8
    assert np.array_equal(x, mix.photo_patches(56, rng(1)))
    assert not np.array_equal(x, mix.photo_patches(56, rng(2)))
    assert (x.reshape(56, -1).std(axis=1) >= mix.FLAT * 255).mean() > 0.9  # few flat crops


def test_dead_leaves_patches_half_sharp_half_soft():
    x = mix.leaves_patches(10, rng(3))
    assert x.shape == (10, 64, 64) and x.dtype == np.uint8
    assert np.array_equal(x, mix.leaves_patches(10, rng(3)))
    edges = [(np.abs(np.diff(part.astype(int), axis=1)) > 40).mean() for part in (x[:5], x[5:])]
    assert edges[0] > edges[1]  # the blurred half has softer edges


def test_fashion_mosaics_are_padded_garments_unresampled():
    images = rng(4).integers(1, 256, (40, 28, 28), dtype=np.uint8)
    x = mix.fashion_mosaics(images, 10, rng(5))
    assert x.shape == (10, 64, 64) and x.dtype == np.uint8
    tiles = [x[:, i : i + 32, j : j + 32] for i in (0, 32) for j in (0, 32)]
    for tile in tiles:
        assert (tile[:, :2] == 0).all() and (tile[:, :, -2:] == 0).all()
        inner = tile[:, 2:30, 2:30]
        assert all(any(np.array_equal(t, img) for img in images) for t in inner)
    used = {bytes(t[:, 2:30, 2:30][k]) for t in tiles for k in range(10)}
    assert len(used) == 40  # four different garments per mosaic, none twice


def test_the_mix_is_labelled_by_kind_split_by_the_data_seed_and_counted(fmnist, capsys):
    d = load_dataset("denoise-mix", data_seed=0)
    assert d.facts == MIX_FACTS == source_facts("denoise-mix")
    assert d.class_names == ("photo", "dead-leaves", "fashion") and "denoise-mix" in BUILTIN
    assert np.bincount(d.test_labels).tolist() == [1000, 500, 500]
    assert d.train_images.shape == (18000, 64, 64) and d.train_images.dtype == np.uint8
    assert load_dataset("denoise-mix", data_seed=0).sha256 == d.sha256  # deterministic
    assert main(["data", "--data", "denoise-mix"]) == 0
    out = capsys.readouterr().out
    assert "train: 18000 images   test: 2000 images" in out and "images: 64x64, 3 classes" in out
    assert "1 dead-leaves" in out and "4500" in out


def test_a_conv_dae_trains_on_the_mix(fmnist, tmp_path):
    config = from_flags("dae", {"model": "conv", "data": "denoise-mix"})
    assert config.data == "denoise-mix" and config.patch_size == 0  # 64x64: whole patches
    assert config.protocol == "full"
    out = tmp_path / "run"
    assert main(["dae", "--model", "conv", "--noise", "impulse", "--train-noise", "0.3",
                 "--data", "denoise-mix", "--protocol", "mini", "--iterations", "2",
                 "--width", "2", "--quiet", "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_test"] == 90 and m["psnr_median"] > m["psnr_noisy"]
    assert json.loads((out / "config.json").read_text())["data_sha256"]
