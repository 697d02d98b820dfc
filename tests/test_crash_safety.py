"""Crash safety: a reproduction killed with SIGKILL anywhere resumes to the same results, a
failed ``--overwrite`` never mixes two runs, broken state files are one clear line."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from sdae import __version__
from sdae.cli import main
from sdae.errors import SdaeError
from sdae.reproduce.runner import reproduce

TIMINGS = {"wall_seconds", "train_seconds", "gemm_floor_seconds"}
# (where the kill lands, the failpoint that fires there: see sdae.io.outputs.failpoint)
KILL_POINTS = [
    ("during a DAE's training", "iteration DAE noise 0.3 *"),
    ("during pretraining, layer 2 of architecture 1", "iteration pretrain 500-200-500 *"),
    ("while a fine-tuning writes its files", "write */finetune-arch2-l5-*/confusion.png"),
    ("while the report is written", "write */report.html"),
]


def without_timings(value):
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def sdae_reproduce(out, failpoint=None, **popen):
    env = {k: v for k, v in os.environ.items() if k != "SDAE_FAILPOINT"}
    if failpoint:
        env["SDAE_FAILPOINT"] = failpoint
    args = [sys.executable, "-m", "sdae", "reproduce", "--preset", "smoke", "--seeds", "1",
            "--out", str(out), "--quiet"]  # fmt: skip
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)  # fmt: skip


def test_killed_anywhere_then_resumed_equals_an_uninterrupted_run(smoke, tmp_path):
    """SIGKILL at four named points, and once at an arbitrary moment, then the same command
    again: results.json equals the uninterrupted run's in every value but the timings."""
    _, reference = smoke
    out = tmp_path / "killed"
    for where, point in KILL_POINTS:
        proc = sdae_reproduce(out, point)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == -signal.SIGKILL, (where, err)
    assert (out / "report.md").exists() and not (out / "results.json").exists()
    state = json.loads((out / "reproduce.json").read_text())
    assert state["attempts"] == 4 and state["wall_seconds"] > 0  # interrupted time is kept
    (out / "report.md").unlink()
    proc = sdae_reproduce(out)  # an arbitrary moment: while it rewrites the report
    time.sleep(6)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    proc = sdae_reproduce(out)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    resumed = json.loads((out / "results.json").read_text())
    assert without_timings(resumed) == without_timings(json.loads(json.dumps(reference)))
    assert not list((out / "experiments").glob("*.partial"))


def test_failed_overwrite_leaves_the_old_run_whole(tmp_path, fmnist):
    out = tmp_path / "run"
    args = ["dae", "--iterations", "4", "--hidden", "8", "--protocol", "mini", "--quiet",
            "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    env = {**os.environ, "SDAE_FAILPOINT": "write */model.safetensors"}  # midway: after
    proc = subprocess.run([sys.executable, "-m", "sdae", *args, "--overwrite", "--lr", "0.1"],
                          env=env, capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == -signal.SIGKILL  # config, figures written; weights not yet
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert main([*args, "--overwrite", "--lr", "0.1"]) == 0  # the debris is cleared
    assert json.loads((out / "config.json").read_text())["train"]["lr"] == 0.1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.fixture
def finished(smoke, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(smoke[0], out)
    return out


@pytest.mark.parametrize("damage,message", [
    (lambda t: t[: len(t) // 2], "reproduce.json is not valid JSON"),
    (lambda t: "[]", "reproduce.json is not a reproduction's state"),
    (lambda t: t.replace('"wall_seconds"', '"wall"'), "reproduce.json is not a reproduction's"),
])  # fmt: skip
def test_broken_state_file_is_one_line(finished, capsys, damage, message):
    path = finished / "reproduce.json"
    path.write_text(damage(path.read_text()))
    before = path.read_text()
    assert main(["reproduce", "--preset", "smoke", "--out", str(finished), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and f"delete {path}" in err[0]
    assert path.read_text() == before


@pytest.mark.parametrize("damage,message", [
    (lambda t: t[:-40], "is not valid JSON"),
    (lambda t: t.replace('"metrics"', '"metrix"'), "is not a result of this reproduction"),
    (lambda t: t.replace('"iterations": 8', '"iterations": 9'), "its config is not this"),
    (lambda t: t.replace('"hidden": 256', '"hidden": "256"'), "hidden: expected int"),
])  # fmt: skip
def test_broken_result_file_is_one_line(finished, capsys, damage, message):
    path = finished / "experiments" / "dae-train0.1-seed0" / "result.json"
    path.write_text(damage(path.read_text()))
    assert main(["reproduce", "--preset", "smoke", "--out", str(finished), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert f"delete the folder {path.parent}" in err[0]


@pytest.mark.parametrize("key,value,shown", [
    ("device", "cuda", "holds a run with other arguments \\(device: 'cuda' -> 'cpu'\\)"),
    ("sdae_version", "0.1.0", f"was made by sdae 0.1.0, whose results this version "
                              f"\\({__version__}\\) would not reproduce"),
])  # fmt: skip
def test_resume_with_another_device_or_version_is_refused(finished, key, value, shown):
    path = finished / "reproduce.json"
    state = json.loads(path.read_text())
    state["args"][key] = value
    path.write_text(json.dumps(state))
    with pytest.raises(SdaeError, match=shown):
        reproduce("smoke", 1, finished, quiet=True)


def test_results_of_the_old_noise_stream_are_not_reused(finished):
    """Without its state file, a finished experiment whose config has no noise stream (made
    by sdae 0.1, torch.rand) is not taken for one of this version's (fast16)."""
    (finished / "reproduce.json").unlink()
    path = finished / "experiments" / "dae-train0.1-seed0" / "result.json"
    text = path.read_text()
    path.write_text(text.replace(',\n      "noise_stream": "fast16"', ""))
    assert path.read_text() != text
    with pytest.raises(SdaeError, match="its config is not this"):
        reproduce("smoke", 1, finished, quiet=True)


def test_deleting_a_broken_state_file_keeps_the_finished_experiments(finished):
    (finished / "reproduce.json").unlink()
    kept = finished / "experiments" / "pretrain-arch1-seed0" / "result.json"
    before = kept.stat().st_mtime_ns
    again = reproduce("smoke", 1, finished, quiet=True)
    assert kept.stat().st_mtime_ns == before and len(again["experiments"]) > 0
