"""A range of noise levels, one drawn per image (`sdae dae --train-noise 0.02:0.7`): the flag,
the config (old files load unchanged), the training loop and metrics.json."""

import json

import pytest
import torch

from sdae.cli import main
from sdae.config.checks import parse_noise_level
from sdae.config.denoising import DaeConfig
from sdae.config.flags import from_flags, load_config
from sdae.config.training import AutoencoderTraining
from sdae.errors import SdaeError
from sdae.io.outputs import to_jsonable
from sdae.nn import training
from sdae.nn.models import Autoencoder, seeded
from sdae.runs.dae import range_levels


@pytest.mark.parametrize("text,value", [("0.3", 0.3), (0.3, 0.3), (1, 1.0),
                                        ("0.02:0.7", (0.02, 0.7)), ((0.1, 0.2), (0.1, 0.2)),
                                        (" 0.1 : 0.4 ", (0.1, 0.4))])  # fmt: skip
def test_the_flag_parses_a_level_or_a_range(text, value):
    assert parse_noise_level(text) == value


@pytest.mark.parametrize("text", ["", "a:b", "0.1:0.2:0.3", ":0.3", True])
def test_text_that_is_neither_is_one_line(text):
    with pytest.raises(SdaeError, match="--train-noise .*: give a level, such as 0.3, or a range"):
        parse_noise_level(text)


def test_a_range_lands_in_the_config_and_tests_at_its_middle():
    c = from_flags("dae", {"noise": "impulse", "train_noise": "0.02:0.7", "model": "conv"})
    assert (c.train.noise_low, c.train.noise_level, c.test_noise) == (0.02, 0.7, 0.36)
    assert c.train.noise_range == (0.02, 0.7) and c.train.noise_text == "0.02:0.7"
    assert c.train_noise == 0.7  # the number a single level always was
    assert from_flags("dae", {"noise": "impulse", "train_noise": "0.1:0.5",
                              "test_noise": 0.2}).test_noise == 0.2  # fmt: skip
    one = from_flags("dae", {"train_noise": "0.2"})
    assert one.train.noise_low is None and one.train.noise_range is None
    assert one == from_flags("dae", {"train_noise": 0.2})  # text or number, one config


@pytest.mark.parametrize("argv,message", [
    (["--noise", "impulse", "--train-noise", "0.7:0.02"],
     "--train-noise 0.7:0.02: a range's low end must be below its high end; write 0.02:0.7"),
    (["--train-noise", "0.02:0.7"], "--train-noise 0.7 is outside [0.0, 0.5] for "
                                    "salt-and-pepper noise"),
    (["--noise", "impulse", "--train-noise=-0.1:0.5"], "--train-noise -0.1 is outside"),
    (["--train-noise", "0.3:0.3"], "give the one level 0.3"),
    (["--train-noise", "0.1:x"], "--train-noise '0.1:x': give a level"),
])  # fmt: skip
def test_bad_ranges_are_one_line(argv, message, tmp_path, capsys):
    assert main(["dae", *argv, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_old_config_files_load_as_one_level_and_ranges_round_trip():
    old = to_jsonable(DaeConfig())
    del old["train"]["noise_low"]  # as written before ranges existed
    assert load_config("dae", old) == DaeConfig() and DaeConfig().train.noise_low is None
    c = from_flags("dae", {"noise": "impulse", "train_noise": "0.02:0.7"})
    assert load_config("dae", json.loads(json.dumps(to_jsonable(c)))) == c
    with pytest.raises(SdaeError, match="^noise_level 0.5:0.1: a range's low end"):
        AutoencoderTraining(noise="impulse", noise_level=0.1, noise_low=0.5)


def _train(settings, monkeypatch=None, levels=None):
    x = torch.rand(48, 20, generator=torch.Generator().manual_seed(0))
    with seeded(0):
        model = Autoencoder(20, 6)
    if levels is not None:  # every image at one level, through the per-image path
        monkeypatch.setattr(training, "draw_levels",
                            lambda n, lo, hi, gen: torch.full((n, 1), levels))
    history = training.train_autoencoder(model, x, settings, 3)
    return history, [p.detach().clone() for p in model.parameters()]


def test_per_image_levels_of_one_value_train_exactly_as_that_level(monkeypatch):
    """The pixels' draws do not move when levels are drawn per image (their own stream):
    per-image levels all at 0.25 give bit-identical training to the one level 0.25."""
    base = dict(noise="impulse", iterations=4, batch_size=16, lr=0.01)
    fixed = _train(AutoencoderTraining(noise_level=0.25, **base))
    same = _train(AutoencoderTraining(noise_level=0.5, noise_low=0.1, **base), monkeypatch, 0.25)
    assert fixed[0] == same[0] and all(torch.equal(a, b) for a, b in zip(fixed[1], same[1]))
    monkeypatch.undo()
    drawn = _train(AutoencoderTraining(noise_level=0.5, noise_low=0.1, **base))
    again = _train(AutoencoderTraining(noise_level=0.5, noise_low=0.1, **base))
    assert drawn[0] != fixed[0] and drawn[0] == again[0]


def test_range_levels_spread_over_the_range():
    assert range_levels(0.02, 0.7) == [0.02, 0.19, 0.36, 0.53, 0.7]
    assert range_levels(0.0, 1.0, 3) == [0.0, 0.5, 1.0]


def test_an_mlp_dae_trains_on_a_range_and_reports_psnr_by_level(tmp_path, capsys, fmnist):
    out = tmp_path / "run"
    assert main(["dae", "--noise", "impulse", "--train-noise", "0.02:0.7", "--protocol", "mini",
                 "--iterations", "3", "--hidden", "8", "--out", str(out), "--quiet"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert list(m["psnr_by_level"]) == ["0.02", "0.19", "0.36", "0.53", "0.7"]
    assert all(set(v) == {"psnr_denoised", "psnr_median", "psnr_adaptive_median"}
               for v in m["psnr_by_level"].values())  # fmt: skip
    # the middle of the range is the test noise: the same images, the same noise
    assert m["psnr_by_level"]["0.36"]["psnr_median"] == m["psnr_median"]
    # less noise, better median filter
    by = [v["psnr_median"] for v in m["psnr_by_level"].values()]
    assert by == sorted(by, reverse=True)
    assert "at noise 0.02" in capsys.readouterr().out
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["noise_low"] == 0.02 and config["test_noise"] == 0.36
