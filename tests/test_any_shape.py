"""Models follow the data: augmentations, the conv nets, the scores and every training command
on images of any size (H, W >= 8) and any number of channels, checked against per-channel
references and on small generated and real (digits) sources."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sdae.cli import main
from sdae.config.flags import from_flags
from sdae.data.splits import Split
from sdae.evaluation import adaptive_median_filter, median_filter, psnr, ssim
from sdae.nn.augment import as_nchw, flat, flip, shift
from sdae.nn.convnets import ConvAutoencoder, DeepCNN, SmallCNN
from sdae.nn.semi import Views, cutout
from sdae.rng import Streams

SHAPE = (9, 13, 3)  # not square, not a multiple of 4, colour


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def colour_batch(n: int = 16, shape=SHAPE) -> torch.Tensor:
    return torch.rand(n, int(np.prod(shape)), generator=gen(0))


def test_nchw_round_trip_keeps_channels_last_order():
    x = torch.arange(2 * 9 * 13 * 3, dtype=torch.float32).view(2, -1)
    img = as_nchw(x, SHAPE)
    assert img.shape == (2, 3, 9, 13)
    assert img[1, 2, 4, 5] == x.view(2, 9, 13, 3)[1, 4, 5, 2]  # pixel-major, channel last
    assert torch.equal(flat(img), x)


def test_flip_mirrors_whole_colour_images_and_twice_is_identity():
    x = colour_batch()
    once = flip(x, gen(3), SHAPE)
    ref = as_nchw(x, SHAPE).flip(3)
    mirrored = (as_nchw(once, SHAPE) == ref).flatten(1).all(1)
    kept = (once == x).all(1)
    assert torch.all(mirrored ^ kept) and 0 < mirrored.sum() < len(x)
    assert torch.equal(flip(once, gen(3), SHAPE), x)  # same draw: mirrored back


def test_shift_moves_every_channel_together_by_at_most_one_pixel():
    x = colour_batch(32)
    out = as_nchw(shift(x, gen(5), SHAPE), SHAPE)
    img = as_nchw(x, SHAPE)
    for i in range(len(x)):
        found = []
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                ref = torch.zeros_like(img[i])
                src = img[i][:, max(0, -dy): 9 - max(0, dy), max(0, -dx): 13 - max(0, dx)]
                ref[:, max(0, dy): max(0, dy) + src.shape[1],
                    max(0, dx): max(0, dx) + src.shape[2]] = src  # fmt: skip
                found.append(torch.equal(out[i], ref))
        assert sum(found) == 1


def test_cutout_blanks_one_square_in_every_channel_of_a_non_square_image():
    x = torch.ones(20, int(np.prod(SHAPE)))
    out = as_nchw(cutout(x, 3, gen(1), SHAPE), SHAPE)
    zero = out == 0
    assert torch.equal(zero[:, 0], zero[:, 1]) and torch.equal(zero[:, 0], zero[:, 2])
    counts = zero[:, 0].flatten(1).sum(1)
    assert counts.max() == 9 and counts.min() >= 4  # a 3x3 square, clipped at edges


def test_views_without_flip_never_mirror():
    x = colour_batch(64)
    views = Views(Streams(0, "t-"), 0.0, SHAPE, flip=False)
    assert views.moves == ("shift",) and views.cutout == 4  # 12/28 of the 9-pixel side
    weak = as_nchw(views.weak(x), SHAPE)
    mirrored = as_nchw(x, SHAPE).flip(3)
    # a shift keeps the middle columns' order; a mirror would reverse it
    assert not any(torch.equal(weak[i], mirrored[i]) for i in range(len(x)))


@pytest.mark.parametrize("make", [
    lambda: DeepCNN(4, 4, SHAPE), lambda: SmallCNN(4, 4, SHAPE),
    lambda: DeepCNN(3, 2, (8, 8, 1)),
])  # fmt: skip
def test_the_cnns_take_any_image_size_and_channels(make):
    model = make().eval()
    h, w, c = model.spec.image_shape
    out = model(torch.rand(5, h * w * c))
    assert out.shape == (5, model.spec.n_classes) and torch.isfinite(out).all()


def test_the_conv_dae_pads_crops_and_passes_clean_pixels_through():
    model = ConvAutoencoder(4, True, SHAPE).eval()
    x = colour_batch(4)
    x[:, ::5] = 0.0  # suspect pixels
    x[:, 1::7] = 1.0
    z = model.reconstruct(x)
    clean = (x > 0) & (x < 1)
    assert z.shape == x.shape and torch.equal(z[clean], x[clean])
    assert model(x).shape == x.shape
    cost = torch.nn.functional.binary_cross_entropy_with_logits(model(x), x)
    cost.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_colour_scores_are_those_of_the_channels():
    rng = np.random.default_rng(0)
    clean = rng.random((3, int(np.prod(SHAPE))))
    noisy = np.where(rng.random(clean.shape) < 0.2, rng.integers(0, 2, clean.shape), clean)
    channels = [c.reshape(3, 9, 13, 3)[..., k].reshape(3, -1) for c in (clean, noisy)
                for k in range(3)]  # fmt: skip
    for fn in (median_filter, adaptive_median_filter):
        whole = fn(noisy, shape=SHAPE).reshape(3, 9, 13, 3)
        for k in range(3):
            alone = fn(channels[3 + k], shape=(9, 13)).reshape(3, 9, 13)
            assert np.allclose(whole[..., k], alone)
    mse = ((clean - noisy) ** 2).mean(1)
    assert psnr(clean, noisy, SHAPE) == pytest.approx(np.mean(10 * np.log10(1 / mse)))
    assert -1 < ssim(clean, noisy, SHAPE) < ssim(clean, clean, SHAPE) == pytest.approx(1.0)


def test_the_pool_holds_the_unlabelled_images_after_the_labelled_ones():
    x, extra = torch.rand(4, 6), torch.rand(3, 6)
    split = Split(x, torch.arange(4), np.arange(4), extra)
    assert len(split) == 4 and torch.equal(split.pool, torch.cat([x, extra]))
    assert Split(x, torch.arange(4), np.arange(4)).pool is x


# --- the commands on other data -----------------------------------------------------------


def colour_npz(path, shape=(10, 12, 3), n_train=60, n_test=30, classes=3):
    """Colour images whose class is their dominant channel: learnable in a few steps."""
    rng = np.random.default_rng(1)

    def make(n):
        y = np.arange(n) % classes
        x = rng.integers(0, 90, (n, *shape))
        for i, k in enumerate(y):
            x[i, ..., k] += 160
        return x.astype(np.uint8), y

    (x_tr, y_tr), (x_te, y_te) = make(n_train), make(n_test)
    np.savez(path, x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
    return path


def test_flip_defaults_follow_the_data():
    assert from_flags("semi", {}).flip is True
    assert from_flags("semi", {"data": "digits"}).flip is False
    assert from_flags("semi", {"data": "digits", "flip": True}).flip is True
    assert from_flags("semi", {"data": "digits"}).protocol == "full"


@pytest.mark.parametrize("args", [
    ["semi", "--labels-per-class", "2", "--iterations", "3", "--batch-size", "8",
     "--width", "2", "--graph-pretrain-iterations", "5"],
    ["baseline", "cnn", "--labels-per-class", "2", "--epochs", "1"],
    ["dae", "--model", "conv", "--width", "2", "--iterations", "3", "--batch-size", "8"],
    ["dae", "--iterations", "3", "--hidden", "8"],
])  # fmt: skip
def test_the_commands_run_on_a_colour_npz_and_record_its_digest(tmp_path, args):
    data = colour_npz(tmp_path / "colour.npz")
    out = tmp_path / "run"
    assert main([*args, "--data", str(data), "--out", str(out), "--quiet"]) == 0
    config = json.loads((out / "config.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert config["data"] == str(data) and list(config["data_sha256"]) == ["colour.npz"]
    assert len(config["data_sha256"]["colour.npz"]) == 64
    if args[0] == "dae":
        assert metrics["psnr_denoised"] > 0 and (out / "reconstructions.png").is_file()
    else:
        assert metrics["n_test"] == 30 and 0 <= metrics["test_accuracy"] <= 1


def test_semi_on_digits_learns_and_names_its_classes(tmp_path):
    out = tmp_path / "semi"
    assert main(["semi", "--data", "digits", "--labels-per-class", "5", "--iterations", "150",
                 "--width", "8", "--graph-pretrain-iterations", "300", "--out", str(out),
                 "--quiet"]) == 0  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert config["flip"] is False and config["protocol"] == "full"
    assert metrics["n_test"] == 360 and metrics["test_accuracy"] > 0.6  # chance: 0.1


def test_images_too_small_for_a_cnn_are_one_line(tmp_path, capsys):
    data = colour_npz(tmp_path / "small.npz", shape=(7, 12, 3))
    code = main(["baseline", "cnn", "--data", str(data), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "at least 8x8" in err and "7x12x3" in err
    assert not (tmp_path / "o").exists()
