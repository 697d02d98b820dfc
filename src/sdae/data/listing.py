"""The files of an image folder (:mod:`sdae.data.folders`): ``train/<class>/``,
``test/<class>/`` and ``unlabelled/`` walked with :func:`os.scandir` (symlinked folders
followed, loops refused, hidden and non-image files skipped), the classes from the folder
names or ``classes.txt``; a layout that cannot be used is one :class:`SdaeError` line.
"""

from __future__ import annotations

import collections
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from sdae.data.pictures import FIX, unreadable
from sdae.errors import SdaeError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
SPLITS = ("train", "test", "unlabelled")
LAYOUT = ("an image folder holds train/<class>/ and test/<class>/ folders of images "
          "(PNG, JPEG, BMP, GIF, TIFF or WebP), one folder a class, and may hold "
          "unlabelled/")  # fmt: skip


@dataclass(frozen=True)
class Listing:
    """The images of a folder: per split, ``(relative path, size, mtime_ns)`` of each file,
    sorted, and the labels (train and test); ``classes_txt``: its bytes, None without it."""

    classes: tuple[str, ...]
    classes_txt: bytes | None
    files: dict[str, list[tuple[str, int, int]]]
    labels: dict[str, list[int]]


def list_folder(folder: Path) -> Listing:
    """Every image of ``folder`` by split, the classes and labels; a layout that cannot be
    used is one :class:`SdaeError` line."""
    seen = {}
    for split in SPLITS:
        st = _stat(folder / split)
        if st is not None and stat.S_ISDIR(st.st_mode):
            seen[split] = frozenset({_identity(os.stat(folder)), _identity(st)})
        elif split == "test":
            raise SdaeError(f"--data {folder}: no test/ folder; {LAYOUT}")
        elif split == "train":
            raise SdaeError(f"--data {folder}: no train/ folder; {LAYOUT}")
    train = _class_folders(folder / "train")
    if not train:
        raise SdaeError(f"--data {folder}: train/ holds no class folders; {LAYOUT}")
    classes, classes_txt = _classes(folder, list(train))
    if len(classes) < 2:
        raise SdaeError(f"--data {folder}: train/ holds one class only ({classes[0]}); a "
                        "classifier needs at least two class folders")  # fmt: skip
    test = _class_folders(folder / "test")
    outside = sorted(set(test) - set(classes))
    if outside:
        raise SdaeError(f"--data {folder}: test/{outside[0]} holds labels outside the classes "
                        f"of train/ ({_few(classes)}); name each test/ folder after a class of "
                        "train/")  # fmt: skip
    files: dict[str, list] = {s: [] for s in SPLITS}
    labels: dict[str, list[int]] = {"train": [], "test": []}
    for split, found in (("train", train), ("test", test)):
        for label, name in enumerate(classes):
            if name not in found:
                continue
            before = len(files[split])
            _walk(folder / split / name, f"{split}/{name}", seen[split] | {found[name]},
                  files[split])  # fmt: skip
            if split == "train" and len(files[split]) == before:
                raise SdaeError(f"{folder / split / name}: a class folder without images; put "
                                "the class's images in it, or remove it")  # fmt: skip
            labels[split] += [label] * (len(files[split]) - before)
    if not files["test"]:
        raise SdaeError(f"--data {folder}: no images in test/; {LAYOUT}")
    if "unlabelled" in seen:
        _walk(folder / "unlabelled", "unlabelled", seen["unlabelled"], files["unlabelled"])
    for split in SPLITS:
        for rel, size, _ in files[split]:
            if size == 0:
                raise SdaeError(f"{folder / rel}: an empty file (0 bytes); {FIX}")
    return Listing(classes, classes_txt, files, labels)


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise unreadable(path, exc) from None


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def _scan(path: Path) -> list[tuple[str, bool, os.stat_result]]:
    """``(name, is a folder, stat)`` of the visible folders and images in ``path``, by name
    (symlinks followed; other files skipped)."""
    try:
        with os.scandir(path) as it:
            entries = sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
    except OSError as exc:
        raise unreadable(path, exc) from None
    found = []
    for e in entries:
        image = os.path.splitext(e.name)[1].lower() in IMAGE_SUFFIXES
        try:
            if e.is_dir():
                found.append((e.name, True, e.stat()))
            elif image:
                found.append((e.name, False, e.stat()))
        except OSError as exc:  # a dangling link is no folder (is_dir says False)
            if image or exc.errno == errno.ELOOP:
                raise unreadable(path / e.name, exc) from None
    return found


def _class_folders(path: Path) -> dict[str, tuple[int, int]]:
    """The class folders in ``path`` (train/ or test/): name -> identity."""
    found = {}
    for name, is_dir, st in _scan(path):
        if not is_dir:
            raise SdaeError(f"{path / name}: an image directly in {path.name}/; put it in "
                            f"{path.name}/<class>/, one folder a class")  # fmt: skip
        found[name] = _identity(st)
    return found


def _walk(path: Path, rel: str, seen: frozenset, out: list) -> None:
    """Append ``(relative path, size, mtime_ns)`` of every image under ``path`` to ``out``,
    sorted; a folder inside itself (through a symlink) is refused."""
    for name, is_dir, st in _scan(path):
        if not is_dir:
            out.append((f"{rel}/{name}", st.st_size, st.st_mtime_ns))
        elif _identity(st) in seen:
            raise SdaeError(f"{path / name}: a symlink loop (a link to a folder that holds it); "
                            "remove the link")  # fmt: skip
        else:
            _walk(path / name, f"{rel}/{name}", seen | {_identity(st)}, out)


def _classes(folder: Path, found: list[str]) -> tuple[tuple[str, ...], bytes | None]:
    """The class names (``classes.txt``'s, which must name exactly the folders ``found``,
    else the folders' in sorted order) and the bytes of ``classes.txt`` (None if absent)."""
    path = folder / "classes.txt"
    if not path.is_file():
        return tuple(found), None
    raw = path.read_bytes()
    try:
        names = [n.strip() for n in raw.decode("utf-8").splitlines() if n.strip()]
    except UnicodeDecodeError:
        raise SdaeError(f"{path}: not UTF-8 text; write one class name a line") from None
    doubled = sorted(n for n, k in collections.Counter(names).items() if k > 1)
    if doubled:
        raise SdaeError(f"{path}: {doubled[0]!r} is named twice; name each class once")
    if set(names) != set(found):
        raise SdaeError(f"{path}: names {_few(names)} but train/ holds the class folders "
                        f"{_few(found)}: labels outside the classes; list exactly the folder "
                        "names, one a line, or remove classes.txt")  # fmt: skip
    return tuple(names), raw


def _few(names) -> str:
    names = list(names)
    return ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
