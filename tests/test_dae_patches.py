"""The conv DAE on random crops of large images (`sdae dae --patch-size`): the crops, the
flag's default and checks, and a short run scored on seeded test crops."""

import json

import numpy as np
import pytest
import torch

from sdae.cli import main
from sdae.config.flags import from_flags
from sdae.errors import SdaeError
from sdae.io.checkpoints import load_model
from sdae.nn.crops import crop_offsets, fixed_crops, random_crops


def _npz(path, side, n=12, channels=0, seed=0):
    """An .npz source of ``n`` training and ``n // 2`` test images of ``side`` x ``side``."""
    rng = np.random.default_rng(seed)
    extra = (channels,) if channels else ()
    x = rng.integers(0, 256, (n + n // 2, side, side + 4, *extra), dtype=np.uint8)
    y = np.arange(n + n // 2) % 2
    np.savez(path, x_train=x[:n], y_train=y[:n], x_test=x[n:], y_test=y[n:])
    return str(path)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("shape", [(20, 24), (20, 24, 3)])
def test_crops_are_the_images_windows(shape):
    x = torch.rand(5, int(np.prod(shape)), generator=gen(1))
    out = random_crops(shape, 8, gen(2))(x)
    top, left = crop_offsets(5, shape, 8, gen(2))
    img = x.view(5, *shape)
    for i in range(5):
        want = img[i, top[i] : top[i] + 8, left[i] : left[i] + 8].reshape(-1)
        assert torch.equal(out[i], want)
    assert out.shape == (5, 8 * 8 * (shape[2] if len(shape) == 3 else 1))


def test_crop_positions_cover_the_image_evenly():
    top, left = crop_offsets(20000, (20, 24), 8, gen(3))
    assert top.min() == 0 and top.max() == 12 and left.min() == 0 and left.max() == 16
    counts = torch.bincount(top, minlength=13).float() / 20000
    assert (counts - 1 / 13).abs().max() < 0.01


def test_fixed_crops_are_bounded_seeded_and_spread():
    x = torch.rand(100, 16 * 16)
    index, crops = fixed_crops(x, (16, 16), 8, 20 * 64, gen(4))
    assert len(index) == 20 and index[0] == 0 and index[-1] == 99 and crops.shape == (20, 64)
    again = fixed_crops(x, (16, 16), 8, 20 * 64, gen(4))
    assert torch.equal(index, again[0]) and torch.equal(crops, again[1])
    assert len(fixed_crops(x, (16, 16), 8, 10**9, gen(4))[0]) == 100  # all when they fit


def test_the_patch_size_follows_the_model_and_the_images(tmp_path):
    big, small = _npz(tmp_path / "big.npz", 80), _npz(tmp_path / "small.npz", 40)
    assert from_flags("dae", {"model": "conv", "data": big}).patch_size == 64
    assert from_flags("dae", {"model": "conv", "data": big, "patch_size": 0}).patch_size == 0
    assert from_flags("dae", {"model": "conv", "data": big, "patch_size": 32}).patch_size == 32
    assert from_flags("dae", {"model": "conv", "data": small}).patch_size == 0
    assert from_flags("dae", {"model": "conv"}).patch_size == 0  # Fashion-MNIST: whole images
    assert from_flags("dae", {"data": big}).patch_size == 0  # the MLP takes whole images
    c = from_flags("dae", {"model": "conv", "data": big})
    assert c.input_shape == (64, 64) and from_flags("dae", {"data": big}).input_shape == (80, 84)


@pytest.mark.parametrize("flags,message", [
    ({"patch_size": 16}, "--patch-size trains the conv DAE on random crops; the MLP DAE takes "
                         "whole images: drop it, or use --model conv"),
    ({"model": "conv", "patch_size": 4}, "--patch-size 4 must be from 8 to 40, the smaller side"),
    ({"model": "conv", "patch_size": 41}, "--patch-size 41 must be from 8 to 40"),
    ({"model": "conv", "patch_size": -1}, "--patch-size must be a whole number >= 0"),
    ({"model": "conv", "patch_size": 16, "fixed_noise": True}, "--fixed-noise corrupts whole"),
])  # fmt: skip
def test_bad_patch_settings_are_one_line(flags, message, tmp_path):
    with pytest.raises(SdaeError, match=message):
        from_flags("dae", {"data": _npz(tmp_path / "x.npz", 40), **flags})


def test_the_mlp_refuses_a_patch_size_on_the_command_line(tmp_path, capsys):
    assert main(["dae", "--patch-size", "16", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--patch-size trains the conv DAE" in err


def test_a_conv_dae_trains_on_crops_and_is_scored_on_test_crops(tmp_path, capsys):
    data = _npz(tmp_path / "grey.npz", 40, n=40)
    out = tmp_path / "run"
    assert main(["dae", "--model", "conv", "--data", data, "--patch-size", "16", "--width", "4",
                 "--iterations", "3", "--batch-size", "8", "--noise", "impulse",
                 "--train-noise", "0.1:0.5", "--out", str(out), "--quiet"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_test"] == 20 and m["test_crops"] == 20 and len(m["cost_history"]) == 3
    assert list(m["psnr_by_level"]) == ["0.1", "0.2", "0.3", "0.4", "0.5"]
    model, config = load_model(out / "model.safetensors")
    assert model.image_shape == (16, 16, 1) and config["patch_size"] == 16
    assert "crop of each of 20 test images" in capsys.readouterr().out
