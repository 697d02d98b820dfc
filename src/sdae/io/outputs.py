"""Writing results so that a crash never leaves half a file, nor a folder mixing two runs.

Every file sdae writes goes to a temporary name in the same folder, is flushed to disk
(``fsync``) and renamed into place (``os.replace`` is atomic on POSIX), and the folder is
synced too, so after a crash or power loss a reader sees the old file or the new one. A run
is written into a staging folder beside ``--out`` and swapped into place when it has
finished (:func:`staged_dir`), so ``--overwrite`` never leaves a folder that mixes two runs.

``SDAE_FAILPOINT`` (a glob, for tests only) kills the process with SIGKILL at the first
matching point: ``write <path>`` just before a file is renamed into place, ``iteration
<what> <i>`` every few training iterations.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sdae.config.tree import to_jsonable
from sdae.errors import SdaeError
from sdae.failpoints import failpoint

RESULT_FILE = "metrics.json"  # written last: a folder that has one holds a finished run




def fsync_dir(folder: str | Path) -> None:
    """Make a rename or creation in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then rename ``tmp_path`` to ``path``.

    ``write`` receives a path in the destination folder; on any exception the temporary
    file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        with open(tmp_path, "rb") as f:
            os.fsync(f.fileno())
        failpoint(f"write {path}")
        os.replace(tmp_path, path)
        fsync_dir(path.parent)
    finally:
        tmp_path.unlink(missing_ok=True)
    return path


def copy_file(src: str | Path, dest: str | Path) -> Path:
    """Copy ``src`` to ``dest`` atomically."""
    return atomic_write(dest, lambda tmp: shutil.copyfile(src, tmp))


def check_out_dir(out: str | Path, overwrite: bool = False, *, result: str = RESULT_FILE,
                  marker: str = "config.json", what: str = "run") -> Path:
    """Check, before any work, that a run can be written to ``out``; nothing is created.

    Refused: a file; a folder holding a finished run (its ``result`` file; without
    ``overwrite``); a non-empty folder that holds no ``what`` (no ``marker`` file: the swap
    would replace the user's files); a path under a file or under a folder that cannot be
    written. ``sdae denoise`` passes its own result file as both.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SdaeError(f"--out {out} is a file; give a folder")
    if out.is_dir():
        if (out / result).exists() and not overwrite:
            raise SdaeError(f"{out} already holds a finished {what}; pass --overwrite or "
                            "another --out")  # fmt: skip
        if any(out.iterdir()) and not (out / marker).exists():
            raise SdaeError(f"--out {out} is not empty and holds no sdae {what}; give a new or "
                            "empty folder")  # fmt: skip
    check_writable_parent(out, "--out")
    return out


def check_writable_parent(path: Path, what: str) -> None:
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise SdaeError(f"{what} {path}: {parent} is a file, not a folder; give another path")
    problem = None if os.access(parent, os.W_OK | os.X_OK) else "permission denied"
    if problem is None:  # root passes access() everywhere: try for real, leaving nothing
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".sdae-probe-", dir=parent))
        except OSError as exc:
            problem = exc.strerror or str(exc)
    if problem is not None:
        raise SdaeError(f"{what} {path}: cannot write in {parent} ({problem}); choose a "
                        "folder you can write to")  # fmt: skip


@contextlib.contextmanager
def staged_dir(out: str | Path, overwrite: bool = False, **rules: str) -> Iterator[Path]:
    """A fresh staging folder beside ``out``, swapped into place if the block succeeds.

    Until the swap ``out`` is untouched; a failed or killed run leaves only the staging
    folder ``.<name>.partial``, which the next run clears. ``rules``: as
    :func:`check_out_dir`'s keywords.
    """
    out = check_out_dir(out, overwrite, **rules)
    with out_lock(out):
        out = check_out_dir(out, overwrite, **rules)  # again: it may have finished meanwhile
        stage = out.parent / f".{out.name}.partial"
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir(parents=True)
        try:
            yield stage
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        replace_dir(stage, out)


@contextlib.contextmanager
def out_lock(out: str | Path) -> Iterator[None]:
    """Hold ``out`` for this process: an exclusive ``flock`` on ``.<name>.lock`` beside it,
    which holds our pid. A second sdae process writing to the same ``out`` is refused in one
    line that names the first one's pid (the kernel drops the lock when a process dies, so
    a crash never leaves ``out`` locked)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    path = out.parent / f".{out.name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise SdaeError(f"another sdae process (pid {pid}) is writing to {out}; wait for "
                            "it to finish, or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
    finally:
        os.close(fd)


def replace_dir(src: Path, dest: Path) -> None:
    """Move the finished folder ``src`` to ``dest``, replacing what is there.

    The old folder is renamed aside first and removed last: a crash between the two renames
    leaves the old run in ``.<name>.old`` and the new one in ``src``, never a mixture.
    """
    old = dest.parent / f".{dest.name}.old"
    if dest.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.rename(dest, old)
    os.rename(src, dest)
    fsync_dir(dest.parent)
    shutil.rmtree(old, ignore_errors=True)


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))




def write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n")


def read_json(path: str | Path, fix: str = "delete it or write it again") -> Any:
    """Parse a JSON file sdae wrote; a truncated or hand-broken one is one :class:`SdaeError`
    line naming it and saying what to do (``fix``)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SdaeError(f"{path} is not valid JSON ({exc}); {fix}") from None
