import os

import pytest

from sdae.io.outputs import atomic_write, atomic_write_text


def test_written_files_get_the_usual_mode(tmp_path):
    path = atomic_write_text(tmp_path / "a.json", "{}")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_failed_write_leaves_old_file_and_no_debris(tmp_path):
    path = atomic_write_text(tmp_path / "a.txt", "old")

    def boom(tmp):
        tmp.write_text("half")
        raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        atomic_write(path, boom)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_atomic_write_syncs_the_file_and_its_folder(tmp_path, monkeypatch):
    synced = []
    real = os.fsync

    def spy(fd):
        synced.append(os.path.realpath(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    path = atomic_write_text(tmp_path / "a.txt", "data")
    assert len(synced) == 2 and synced[1] == str(tmp_path)  # the file, then its folder
    assert synced[0].startswith(str(tmp_path / ".a.txt."))  # synced before the rename
    assert path.read_text() == "data"


def test_staged_dir_swaps_only_a_finished_run(tmp_path):
    from sdae.io.outputs import staged_dir

    out = tmp_path / "run"
    with staged_dir(out) as d:
        (d / "config.json").write_text("old")
        (d / "metrics.json").write_text("old")
    with pytest.raises(RuntimeError), staged_dir(out, overwrite=True) as d:
        (d / "config.json").write_text("new")
        raise RuntimeError("crash midway")
    assert {p.name: p.read_text() for p in out.iterdir()} == {"config.json": "old",
                                                              "metrics.json": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    with staged_dir(out, overwrite=True) as d:
        (d / "config.json").write_text("new")
    assert [p.name for p in out.iterdir()] == ["config.json"]  # nothing of the old run left
