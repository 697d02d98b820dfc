"""Issue 17's table of config mistakes: each is one line that names the flag, exit 2, and
nothing written; the `--protocol full` budget is accepted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

import sdae
from sdae.cli import main
from sdae.config import from_flags
from sdae.config.flags import FLAGS
from sdae.errors import SdaeError
from sdae.io.outputs import out_lock

REFUSED = [
    (["sae", "--protocol", "mini", "--labels-per-class", "700"],
     "--labels-per-class 700 is more than the 100 images per class in the mini protocol's pool"),
    (["baseline", "knn", "--labels-per-class", "1", "--k", "50"],
     "--k 50 is not below the 10 labelled images"),
    (["baseline", "knn", "--labels-per-class", "1", "--k", "10"],
     "--k 10 is not below the 10 labelled images"),
    (["semi", "--protocol", "mini", "--graph-per-class", "500"],
     "--graph-per-class 500 is more than the 95 unlabelled images per class"),
    (["semi", "--graph-components", "5000"],
     "--graph-components 5000 is more than the 784 pixels"),
    (["dae", "--lr", "0"], "--lr 0.0 must be a finite number above 0 (0 would train nothing)"),
    (["sae", "--pretrain-lr", "0"], "--pretrain-lr 0.0 must be a finite number above 0"),
    (["baseline", "cnn", "--epochs", "0"], "--epochs must be a whole number >= 1, not 0"),
    (["dae", "--train-noise", "1.5"], "--train-noise 1.5 is outside [0.0, 0.5]"),
    (["dae", "--iterations", "0"], "--iterations must be a whole number >= 1, not 0"),
    (["sae", "--finetune-recipe", "semi"], "run `sdae semi`"),
    (["sae", "--finetune-recipe", "fancy"], "unknown fine-tuning recipe 'fancy'; choose one of"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "message"), REFUSED)
def test_refused_in_one_line_naming_the_flag(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--out", "run"]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # not even the config
    assert err.count("\n") == 1 and err.startswith("sdae: error: ") and message in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["sae", "baseline"])
def test_full_protocol_takes_its_own_budget(command):
    flags = {"protocol": "full", "labels_per_class": "1000"}
    if command == "baseline":
        flags["model"] = "knn"
    config = from_flags(command, flags)
    assert (config.protocol, config.labels_per_class) == ("full", 1000)
    assert sdae.from_flags(command, flags) == config


def test_the_library_names_fields_and_the_cli_flags():
    with pytest.raises(SdaeError, match=r"^lr 0 must be a finite number above 0"):
        sdae.AutoencoderTraining(lr=0)
    with pytest.raises(SdaeError, match=r"^--lr 0 must be"):
        from_flags("dae", {"lr": 0})
    assert FLAGS["dae"]["lr"] == "train.lr"


def test_test_noise_defaults_to_the_training_noise():
    assert from_flags("dae", {"train_noise": 0.1}).test_noise == 0.1
    assert from_flags("dae", {}).test_noise == from_flags("dae", {}).train.noise_level
    assert from_flags("dae", {"train_noise": 0.1, "test_noise": 0.3}).test_noise == 0.3


def test_semi_recipe_is_not_offered_by_help(capsys):
    with pytest.raises(SystemExit):
        main(["sae", "--help"])
    assert "semi" not in capsys.readouterr().out.split("--finetune-recipe")[1].split("--lr-top")[0]


def test_a_second_writer_is_refused_with_the_first_ones_pid(tmp_path, capsys, fmnist):
    out = tmp_path / "repro"
    with out_lock(out):  # as another sdae process would hold it
        assert main(["reproduce", "--preset", "smoke", "--out", str(out), "--quiet"]) == 2
        assert main(["dae", "--iterations", "1", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(f"another sdae process (pid {os.getpid()}) is writing to "
                                 f"{out}" in line for line in err)  # fmt: skip
    assert not out.exists() and not list(tmp_path.glob(".*"))  # the lock file went with it


def test_sdae_data_from_the_environment_is_named(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SDAE_DATA", str(tmp_path / "nowhere"))
    monkeypatch.chdir(tmp_path)
    assert main(["dae", "--out", "run"]) == 2
    err = capsys.readouterr().err
    assert "nowhere (from $SDAE_DATA) does not hold" in err and "unset it" in err
    assert not (tmp_path / "run").exists()


def test_sigterm_stops_a_run_cleanly(tmp_path, fmnist):
    """SIGTERM during training: one line, exit 143, and no staging folder left behind."""
    argv = [sys.executable, "-m", "sdae", "dae", "--protocol", "mini", "--hidden", "8",
            "--iterations", "1000000", "--batch-size", "10", "--out", "run"]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while not (tmp_path / ".run.partial").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # into the training loop
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert err.strip().splitlines()[-1] == ("sdae: terminated (SIGTERM); finished files are "
                                            "intact, unfinished ones were not written")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
