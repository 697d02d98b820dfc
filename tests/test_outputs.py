import os

import pytest

from sdae.outputs import atomic_write, atomic_write_text


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
