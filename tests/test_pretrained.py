"""The blind photo denoiser that ships with sdae (sdae.pretrained): it is installed, it loads,
its config is the one its re-make command gives, and `sdae denoise` uses it without --model."""

import json

import numpy as np
import pytest
from PIL import Image

from sdae import pretrained
from sdae.cli.parser import build_parser, config_from_args
from sdae.config.flags import load_config
from sdae.data.denoise_mix import HELD_OUT
from sdae.io.checkpoints import load_model
from sdae.nn.convnets import ConvAutoencoder

MAX_BYTES = 5 * 2**20  # the bound on the shipped weights


def test_the_shipped_model_is_installed_small_and_loads():
    folder = pretrained.folder()
    assert (folder / "model.safetensors").stat().st_size <= MAX_BYTES
    model, config = load_model(folder / "model.safetensors")
    assert isinstance(model, ConvAutoencoder) and model.passthrough and model.prefill
    assert config["train"]["noise"] == "impulse"
    assert (config["train"]["noise_low"], config["train"]["noise_level"]) == (0.02, 0.7)


def test_its_config_is_the_one_its_command_makes():
    """config.json (and the config inside the weights) is exactly what `command.txt` gives,
    so that running that command re-makes the model."""
    command = pretrained.command()
    assert command[:2] == ["sdae", "dae"]
    made = config_from_args(build_parser().parse_args(command[1:]))
    folder = pretrained.folder()
    stored = json.loads((folder / "config.json").read_text())
    assert load_config("dae", stored) == made
    assert load_config("dae", load_model(folder / "model.safetensors")[1]) == made
    # trained only on what may ship: the mix, which never reads the held-out photographs
    assert made.data == "denoise-mix" and set(HELD_OUT) == {"camera", "astronaut", "coins", "moon"}


def test_a_missing_model_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setattr(pretrained.resources, "files", lambda name: tmp_path)
    with pytest.raises(pretrained.SdaeError, match="missing from this installation"):
        pretrained.folder()


def test_sdae_denoise_without_model_uses_it(tmp_path, capsys):
    """A grey photograph-like image (smooth, 96x80) with 30 % impulse noise added: the shipped
    model beats the noisy input and the 3x3 median by far, and records what it is."""
    from sdae.cli import main

    y, x = np.mgrid[0:80, 0:96]
    clean = (128 + 80 * np.sin(x / 9.0) * np.cos(y / 13.0)).astype(np.uint8)
    Image.fromarray(clean).save(tmp_path / "smooth.png")
    code = main(["denoise", str(tmp_path / "smooth.png"), "--add-noise", "0.3",
                 "--out", str(tmp_path / "out"), "--quiet"])  # fmt: skip
    assert code == 0
    summary = json.loads((tmp_path / "out" / "denoise.json").read_text())
    assert summary["model"] == "sdae:photo-denoiser" and summary["noise"] == "impulse"
    psnr = summary["files"][0]["scores"]["psnr"]
    assert psnr["sdae"] > psnr["median"] + 5 and psnr["sdae"] > psnr["noisy"] + 15
    assert Image.open(tmp_path / "out" / "smooth.png").size == (96, 80)
    capsys.readouterr()
