"""Every bad input a user can give: one line, exit 2, before any long work, nothing written.

Each case runs ``sdae`` as a user would, in a folder of its own, and checks the one line it
prints and that no file in that folder (or the data, or a previous run) was created or
changed.
"""

import gzip
import subprocess
import sys
from pathlib import Path

import pytest
from test_data import fake_folder

from sdae.cli import main


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<dir>"
            for p in sorted(folder.rglob("*"))}  # fmt: skip


def one_line(capsys, code: int) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("sdae: error: ") and "Traceback" not in err[0]
    return err[0]


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A working folder holding one file of the user's, and a finished-looking run."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    return tmp_path


QUICK = ["--quiet", "--protocol", "mini"]


@pytest.mark.parametrize("args,message", [
    (["dae", "--out", "notes.txt/x"], "--out notes.txt/x: "),
    (["dae", "--out", "notes.txt"], "--out notes.txt is a file; give a folder"),
    (["reproduce", "--out", "notes.txt"], "--out notes.txt is a file; give a folder"),
    (["dae", "--out", "/etc/passwd/x"], "/etc/passwd is a file, not a folder"),
    (["dae", "--out", "/sys/sdae-run"], "--out /sys/sdae-run: cannot write in /sys"),
    (["dae", "--out", "."], "--out . is not empty and holds no sdae run"),
    (["sae", "--labels-seed", "-1"], "--labels-seed -1: a seed must be a whole number from 0"),
    (["sae", "--data-seed", "-1"], "--data-seed -1: a seed must be a whole number from 0"),
    (["dae", "--seed", str(2**64)], f"--seed {2**64}: a seed must be"),
    (["baseline", "cnn", "--seed", str(2**63)], f"--seed {2**63}: a seed must be"),
    (["sae", "--lr-top", "0", "--lr-body", "0"], "--lr-top and --lr-body are both 0"),
    (["sae", "--arch", "784-0"], "every size must be a whole number, at least 1"),
    (["sae", "--labels-per-class", "101"], "more than the 100 images per class in the mini"),
    (["reproduce", "--jobs", "0"], "--jobs must be a whole number >= 1, not 0"),
    (["reproduce", "--seeds", "0"], "--seeds must be a whole number from 1 to 1000"),
    (["dae", "--device", "gpu"], "unknown device 'gpu'; use cpu, cuda or cuda:N"),
    (["sae", "--device", "cuda:x"], "unknown device 'cuda:x'"),
    (["reproduce", "--device", "cuda:1x"], "unknown device 'cuda:1x'"),
    (["dae", "--data-dir", "notes.txt"], "notes.txt is a file, not a folder"),
    (["dae", "--train-noise", "nan"], "--train-noise nan is outside"),
])  # fmt: skip
def test_bad_input_is_one_line_and_writes_nothing(here, capsys, args, message):
    before = snapshot(here)
    line = one_line(capsys, main([*args, *QUICK[:1]] if args[0] == "reproduce" else
                                 [*args, *QUICK]))  # fmt: skip
    assert message in line, line
    assert snapshot(here) == before
    assert not Path("/sys/sdae-run").exists()


def test_unwritable_out_is_refused_before_the_data_loads(here, capsys, monkeypatch):
    import sdae.runs.common

    monkeypatch.setattr("os.access", lambda path, mode: False)
    monkeypatch.setattr(sdae.runs.common, "load_splits", lambda *a, **k: 1 / 0)  # never reached
    line = one_line(capsys, main(["dae", "--out", "runs/x", *QUICK]))
    assert "--out runs/x: cannot write in" in line and "(permission denied)" in line
    assert not (here / "runs").exists()


def test_corrupted_gz_in_the_data_folder(here, capsys):
    (here / "data").mkdir()
    folder = fake_folder(here / "data")
    path = folder / "train-images-idx3-ubyte.gz"  # the first file read
    path.write_bytes(gzip.compress(b"x" * 200)[:12] + b"\xff" * 40)
    before = snapshot(here)
    line = one_line(capsys, main(["dae", "--data-dir", str(folder), "--out", "run", *QUICK]))
    assert f"{path}: cannot read it" in line and "replace the file" in line
    assert snapshot(here) == before


def test_unreadable_data_folder(here, capsys, monkeypatch):
    (here / "data").mkdir()
    folder = fake_folder(here / "data")
    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("sdae.data.idx.open_file", denied)
    line = one_line(capsys, main(["data", "--data-dir", str(folder)]))
    assert f"{folder}/train-images-idx3-ubyte.gz: cannot read it (Permission denied)" in line


def test_os_error_on_a_users_path_is_one_line_and_the_old_run_survives(here, capsys,
                                                                        monkeypatch, fmnist):
    args = ["dae", "--iterations", "3", "--hidden", "8", "--out", "run", *QUICK]
    assert main(args) == 0
    capsys.readouterr()
    before = snapshot(here / "run")

    def full_disk(path, *a, **k):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr("sdae.runs.dae.save_model", full_disk)
    line = one_line(capsys, main([*args, "--overwrite"]))
    assert "model.safetensors: No space left on device; check the path" in line
    assert snapshot(here / "run") == before  # the finished run is whole
    assert sorted(p.name for p in here.iterdir()) == ["notes.txt", "run"]  # no debris


def test_a_user_mistake_never_shows_a_traceback(here):
    """The same, end to end in a fresh interpreter (what a user sees)."""
    proc = subprocess.run([sys.executable, "-m", "sdae", "sae", "--labels-seed", "-1"],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "sdae: error: --labels-seed -1: a seed must be a whole number from 0 to 2**63 - 1"]


def test_the_largest_seed_runs_end_to_end(here, capsys, fmnist):
    top = str(2**63 - 1)
    seeds = ["--seed", top, "--data-seed", top]
    assert main(["sae", "--arch", "784-8", "--pretrain-iterations", "2",
                 "--finetune-iterations", "2", "--labels-seed", top, *seeds, "--out", "sae",
                 *QUICK]) == 0  # fmt: skip
    assert main(["dae", "--hidden", "8", "--iterations", "2", *seeds, "--out", "dae",
                 *QUICK]) == 0  # fmt: skip
    assert (here / "sae" / "metrics.json").exists() and (here / "dae" / "metrics.json").exists()
