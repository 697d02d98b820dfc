import json
import subprocess
import sys

import pytest

from sdae.cli import main
from sdae.io.checkpoints import load_model

SMALL = ["--iterations", "20", "--hidden", "32", "--batch-size", "500", "--quiet"]


def run_cli(*args):
    """Run `python -m sdae` in a subprocess: what a user sees, tracebacks included."""
    return subprocess.run([sys.executable, "-m", "sdae", *args], capture_output=True, text=True)


def test_dae_end_to_end_writes_every_file(tmp_path, fmnist):
    out = tmp_path / "run"
    args = ["dae", "--train-noise", "0.1", "--test-noise", "0.1", "--out", str(out), *SMALL]
    assert main(args) == 0
    for name in ("config.json", "metrics.json", "cost.png", "reconstructions.png",
                 "model.safetensors"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("final_cost", "psnr_noisy", "psnr_denoised", "psnr_median", "ssim_noisy",
                "ssim_denoised", "ssim_median", "psnr_mean_image", "train_seconds"):
        assert isinstance(metrics[key], float), key
    assert len(metrics["cost_history"]) == 20
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["noise_level"] == 0.1 and config["hidden"] == 32
    model, saved = load_model(out / "model.safetensors")
    digests = config.pop("data_sha256")  # beside the settings: the files the run read
    assert saved == config and model.n_hidden == 32
    assert len(digests) == 4 and all(len(d) == 64 for d in digests.values())


def test_finished_run_is_not_overwritten(tmp_path, fmnist):
    out = tmp_path / "run"
    assert main(["dae", "--out", str(out), *SMALL]) == 0
    before = (out / "metrics.json").read_text()
    proc = run_cli("dae", "--out", str(out), *SMALL)
    assert proc.returncode == 2
    assert "already holds a finished run; pass --overwrite" in proc.stderr
    assert (out / "metrics.json").read_text() == before


@pytest.mark.parametrize("args,message", [
    (["dae", "--train-noise", "0.7"], "--train-noise 0.7 is outside [0.0, 0.5]"),
    (["dae", "--test-noise", "-1"], "--test-noise -1.0 is outside"),
    (["dae", "--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
    (["dae", "--iterations", "abc"], "invalid int value: 'abc'"),
    (["dae", "--device", "tpu"], "unknown device 'tpu'"),
    (["dae", "--data-dir", "/nonexistent"], "does not hold the four Fashion-MNIST IDX files"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_arguments_one_line_no_traceback(args, message):
    proc = run_cli(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("sdae: error: ") and message in lines[0]
    assert "Traceback" not in proc.stderr


def test_data_command_prints_sizes_and_classes(fmnist):
    proc = run_cli("data", "--no-download")
    assert proc.returncode == 0, proc.stderr
    assert "train: 60000 images   test: 10000 images" in proc.stdout
    assert proc.stdout.count(" 6000   1000") == 10


def test_help_lists_commands():
    proc = run_cli("--help")
    assert proc.returncode == 0, proc.stderr
    # the command list: the indented lines under "positional arguments:" up to the blank line;
    # a command is the first word of a line indented less than the help column (wrapped help
    # text sits deeper), e.g. "    dae       train the denoising autoencoder (paper §V.A)"
    lines = proc.stdout.splitlines()
    start = lines.index("positional arguments:") + 1
    end = lines.index("", start)
    section = [line for line in lines[start:end] if line.strip()]
    indents = [len(line) - len(line.lstrip()) for line in section]
    command_indent = sorted(set(indents))[1]  # [0] is the "COMMAND" metavar line
    listed = [line.split()[0] for line, indent in zip(section, indents)
              if indent == command_indent]
    for name in ("data", "dae", "sae", "baseline", "reproduce"):
        assert name in listed, (name, proc.stdout)
    proc = run_cli("dae", "--help")
    assert proc.returncode == 0, proc.stderr
    options = {word.rstrip(",") for line in proc.stdout.splitlines() for word in line.split()}
    assert "--train-noise" in options and "--quiet" in options


def test_help_and_config_checks_need_no_torch():
    """`sdae --help`, the parser and building a config import no engine (a fast start)."""
    code = ("import sys; from sdae.cli import build_parser; build_parser(); "
            "from sdae.config import from_flags; from_flags('sae', {'arch': '784-300-100'}); "
            "from sdae.data.fashion_mnist import locate_data; "
            "heavy = {'torch', 'matplotlib', 'sklearn'} & set(sys.modules); "
            "assert not heavy, heavy")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
