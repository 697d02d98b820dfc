"""The on-disk caches: decoded image folders, one file per folder and image size asked, in
``$SDAE_CACHE_DIR`` (else ``~/.cache/sdae/folders``); and arrays computed from data that
cost minutes and are the same for every label draw (:func:`cached_array`: ``sdae semi``'s
graph codes, ``codes/`` beside it).

A cache file is a sequence of ``.npy`` arrays (:func:`numpy.save` one after another): the
``key``, then :data:`NAMES` in that order; so it is written from and read into the arrays
directly (``tofile`` / ``fromfile``), with no second copy of the images in memory as an
``.npz`` (a zip, written and read in chunks) would make.

A cache file is named after where the folder is (its resolved path and the size asked), so
that a changed folder replaces its own entry instead of leaving stale ones; it is used only
while the ``key`` stored in it equals the one computed from the folder's files now (see
:func:`sdae.data.folders.read_image_folder`). Written atomically (a temporary file in the
cache folder, then :func:`os.replace`) and read with ``allow_pickle=False``: an unreadable,
corrupt or foreign cache file is ignored (and rewritten), an unwritable cache folder skips
caching; neither is ever an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

ARRAYS = ("train_images", "train_labels", "test_images", "test_labels", "unlabelled_images")
NAMES = (*ARRAYS, "class_names", "sha256", "resized")


def cache_folder(kind: str = "folders") -> Path:
    """Where cache files of ``kind`` go: for ``folders``, ``$SDAE_CACHE_DIR`` if set, else
    ``~/.cache/sdae/folders`` (``$XDG_CACHE_HOME`` replaces ``~/.cache``); any other kind
    (``codes``: :func:`cached_array`) a folder of that name beside it (inside
    ``$SDAE_CACHE_DIR`` when set)."""
    explicit = os.environ.get("SDAE_CACHE_DIR")
    if explicit:
        root = Path(explicit).expanduser()
        return root if kind == "folders" else root / kind
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "sdae" / kind


def cache_file(folder: Path, image_size: tuple[int, int] | None) -> Path:
    """Where the decoded arrays of ``folder`` read at ``image_size`` are cached."""
    where = f"{folder.resolve()}\0{image_size}".encode("utf-8", "surrogateescape")
    return cache_folder() / f"{hashlib.sha256(where).hexdigest()[:32]}.npys"


def load_cached(path: Path, key: str) -> dict | None:
    """The arrays cached in ``path`` if it holds them for ``key``; None otherwise (missing,
    unreadable, corrupt, inconsistent, or another key): never an error."""
    try:
        with open(path, "rb") as f:
            if str(np.load(f, allow_pickle=False)) != key:
                return None
            found = {name: np.load(f, allow_pickle=False) for name in NAMES}
            if f.read(1):
                return None
    except Exception:  # whatever is wrong with a cache file, the folder is read instead
        return None
    return found if _consistent(found) else None


def _consistent(a: dict) -> bool:
    images = [a["train_images"], a["test_images"], a["unlabelled_images"]]
    labels = [a["train_labels"], a["test_labels"]]
    names = a["class_names"]
    return (all(x.dtype == np.uint8 and x.ndim in (3, 4) for x in images)
            and all(y.dtype == np.int64 and y.ndim == 1 for y in labels)
            and len({x.shape[1:] for x in images}) == 1
            and all(len(x) == len(y) and len(x) > 0 for x, y in zip(images, labels))
            and names.dtype.kind == "U" and names.ndim == 1 and len(names) >= 2
            and all(y.min() >= 0 and y.max() < len(names) for y in labels)
            and a["sha256"].dtype.kind == "U" and a["resized"].dtype.kind == "i")  # fmt: skip


def save_cached(path: Path, key: str, arrays: dict) -> None:
    """Write ``arrays`` (:data:`NAMES`) for ``key`` into ``path``, atomically; skipped
    silently when the cache folder cannot be written (no permission, a full disk, a file in
    the way)."""
    _write_arrays(path, (np.array(key), *(arrays[name] for name in NAMES)), ".npys")


def _write_arrays(path: Path, arrays, suffix: str) -> None:
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=suffix)
        with open(fd, "wb") as f:  # a plain file: np.save writes the arrays with tofile
            for array in arrays:
                np.save(f, array, allow_pickle=False)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def cached_array(kind: str, key: str, compute, shape: tuple[int, ...] | None = None,
                 dtype=np.float32) -> np.ndarray:  # fmt: skip
    """``compute()`` (an array of ``shape`` and ``dtype``), kept in ``cache_folder(kind)``
    under ``key`` (a text naming everything the array depends on): a second call with the
    same key reads it back instead. As for image folders, the file is written atomically and
    read with ``allow_pickle=False``; an unreadable, corrupt or misshapen file is computed
    again (and rewritten) and an unwritable cache folder skips caching: never an error."""
    path = cache_folder(kind) / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.npy"
    try:
        with open(path, "rb") as f:
            if str(np.load(f, allow_pickle=False)) == key:
                found = np.load(f, allow_pickle=False)
                if found.dtype == dtype and (shape is None or found.shape == shape) \
                        and not f.read(1):  # fmt: skip
                    return found
    except Exception:  # whatever is wrong with a cache file, the array is computed instead
        pass
    array = np.ascontiguousarray(compute(), dtype=dtype)
    _write_arrays(path, (np.array(key), array), ".npy")
    return array
