"""Data sets beyond Fashion-MNIST: ``sdae.load_dataset(SOURCE)`` for every kind of source.

================  =====================================================================
``fashion-mnist``  the default: found and verified as :mod:`sdae.data.fashion_mnist` does
``digits``         scikit-learn's bundled 8x8 digits (1797 real images, 17 grey levels),
                   split 80/20, stratified, by ``data_seed``: a second real data set offline
``denoise-mix``    20000 grey 64x64 patches for training a photo denoiser: crops of
                   scikit-image's photographs, dead leaves and Fashion-MNIST mosaics, split
                   90/10 by ``data_seed``, labelled by kind (:mod:`sdae.data.denoise_mix`)
a folder           MNIST-format IDX files (``train-images-idx3-ubyte[.gz]``,
                   ``train-labels-idx1-ubyte``, ``t10k-...``) of any image size and any
                   number of classes, such as MNIST or KMNIST; names from ``classes.txt``
an image folder    a folder holding ``train/``: torchvision's ImageFolder layout,
                   ``train/<class>/*.png``, ``test/<class>/*.png`` (JPEG, BMP, GIF, TIFF,
                   WebP too) and an optional ``unlabelled/``; grey or colour, any size
                   (``image_size``); decoded once, then cached (:mod:`sdae.data.folders`)
a ``.npz`` file    ``x_train``, ``y_train``, ``x_test``, ``y_test`` (Keras' ``mnist.npz``
                   layout), images ``[N, H, W]`` or ``[N, H, W, C]``, uint8 or float in [0, 1]
================  =====================================================================

Every source gives a :class:`Dataset`: uint8 images (0 black, 255 white), int64 labels
``0 .. K-1``, the class names, and the SHA-256 of each file read (a user's files have no
checksum to match, so the digests are recorded instead; an image folder's is one digest of
its decoded images and labels). A source that cannot be used is one
:class:`SdaeError` line naming the file and what to do.
"""

from __future__ import annotations

import functools
import hashlib
import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sdae.data import denoise_mix
from sdae.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist
from sdae.data.idx import read_idx_file
from sdae.errors import SdaeError

BUILTIN = ("fashion-mnist", "digits", "denoise-mix")
#: the largest IDX file read from a user's folder, decompressed (MNIST's is 47 MB)
MAX_USER_IDX_BYTES = 2**31
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
IDX_NAMES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}  # fmt: skip
SOURCES_HELP = ("fashion-mnist, digits, denoise-mix (64x64 grey patches of photographs, dead "
                "leaves and Fashion-MNIST), a folder of MNIST-format IDX files, an image folder "
                "(train/<class>/*.png, test/<class>/*.png), or an .npz with x_train, y_train, "
                "x_test, y_test")  # fmt: skip
#: the name of an image folder's one digest (:mod:`sdae.data.folders`)
FOLDER_DIGEST = "decoded images and labels"


@dataclass(frozen=True)
class Dataset:
    """Both splits of a data set: images uint8 ``[N, H, W]`` (grey) or ``[N, H, W, C]``,
    labels int64 ``[N]`` in ``0 .. len(class_names) - 1``; ``unlabelled_images`` (same
    image shape, no labels) from an image folder's ``unlabelled/``, else None."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: tuple[str, ...]
    source: str
    sha256: dict[str, str] = field(default_factory=dict)
    unlabelled_images: np.ndarray | None = None

    @property
    def facts(self) -> SourceFacts:
        """Its shape, classes and class sizes: what a config is checked against."""
        counts = np.bincount(self.train_labels, minlength=len(self.class_names))
        return SourceFacts(self.name, tuple(self.train_images.shape[1:]), self.class_names,
                           tuple(int(c) for c in counts))  # fmt: skip

    @property
    def image_shape(self) -> tuple[int, ...]:
        """``(H, W)`` or ``(H, W, C)``."""
        return self.facts.image_shape

    @property
    def n_features(self) -> int:
        """Pixels of one image times its channels: the input size of an MLP."""
        return self.facts.n_features

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


@dataclass(frozen=True)
class SourceFacts:
    """What a config is checked against: ``image_shape`` ``(H, W)`` or ``(H, W, C)``, the
    classes, and how many training images each class has."""

    name: str
    image_shape: tuple[int, ...]
    class_names: tuple[str, ...]
    train_per_class: tuple[int, ...]

    @property
    def n_features(self) -> int:
        return int(np.prod(self.image_shape))

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def image_text(self) -> str:
        """``"28x28 image"``, ``"9x7x3 image"``: for messages."""
        return "x".join(map(str, self.image_shape)) + " image"


#: Fashion-MNIST's facts without reading it: its verified files hold exactly these
FASHION_FACTS = SourceFacts("fashion-mnist", (28, 28), CLASS_NAMES, (6000,) * 10)
#: denoise-mix's facts without building it: every seed gives these
MIX_FACTS = SourceFacts("denoise-mix", (denoise_mix.SIDE,) * 2, denoise_mix.CLASSES,
                        denoise_mix.TRAIN_PER_CLASS)  # fmt: skip
#: the name of denoise-mix's one digest
MIX_DIGEST = "denoise-mix patches and labels"


@functools.lru_cache(maxsize=8)
def source_facts(source: str, data_seed: int = 0,
                 image_size: tuple[int, int] | None = None) -> SourceFacts:  # fmt: skip
    """The :class:`SourceFacts` of ``source`` (read once per process; Fashion-MNIST's are
    known without reading it); ``image_size`` (a tuple: this is cached) as for
    :func:`load_dataset`. A source that cannot be used raises :class:`SdaeError`."""
    if source == "fashion-mnist":
        return FASHION_FACTS
    if source == "denoise-mix":
        return MIX_FACTS
    return load_dataset(source, data_seed=data_seed, image_size=image_size).facts


def load_dataset(source: str | Path = "fashion-mnist", *, data_dir=None, download: bool = True,
                 data_seed: int = 0, image_size: tuple[int, int] | None = None,
                 progress: bool | None = None) -> Dataset:  # fmt: skip
    """The data set ``source`` names (see the module's table). ``data_dir`` and ``download``
    are Fashion-MNIST's (:func:`sdae.data.fashion_mnist.locate_data`, also for
    ``denoise-mix``); ``data_seed`` draws the ``digits`` split and ``denoise-mix``;
    ``image_size`` ``(H, W)`` and ``progress`` (a bar on stderr; None: when it is a
    terminal) are an image folder's, which the other sources ignore."""
    text = str(source)
    if text == "fashion-mnist":
        data = load_fashion_mnist(data_dir, download=download)
        return Dataset("fashion-mnist", data.train_images, data.train_labels.astype(np.int64),
                       data.test_images, data.test_labels.astype(np.int64), CLASS_NAMES,
                       str(data.source))  # fmt: skip
    if text == "digits":
        return _digits(data_seed)
    if text == "denoise-mix":
        return _denoise_mix(data_seed, data_dir, download)
    path = Path(text).expanduser()
    try:  # os.stat, not Path.is_dir: that hides a symlink loop as "no such file"
        is_dir = stat.S_ISDIR(os.stat(path).st_mode)
    except FileNotFoundError:
        raise SdaeError(f"--data {text}: no such file or folder; give {SOURCES_HELP}") from None
    except OSError as exc:  # a symlink loop, no permission
        raise SdaeError(f"--data {path}: cannot read it ({exc.strerror or exc}); give "
                        f"{SOURCES_HELP}") from None  # fmt: skip
    if is_dir and os.path.isdir(path / "train"):
        return _image_folder(path, image_size, progress)
    if is_dir:
        return _idx_folder(path)
    if path.suffix.lower() == ".npz":
        return _npz(path)
    raise SdaeError(f"--data {text}: neither a folder nor an .npz; give {SOURCES_HELP}")


def _digits(seed: int) -> Dataset:
    from sklearn.datasets import load_digits  # the one source that needs scikit-learn
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = np.round(digits.images * (255 / 16)).astype(np.uint8)  # 0..16 -> 0..255
    labels = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(images, labels, test_size=0.2, stratify=labels,
                                              random_state=seed)  # fmt: skip
    names = tuple(str(c) for c in digits.target_names)
    return Dataset("digits", x_tr, y_tr, x_te, y_te, names, "sklearn.datasets.load_digits")


def _denoise_mix(seed: int, data_dir, download: bool) -> Dataset:
    def fashion():
        return load_fashion_mnist(data_dir, download=download).train_images

    x_tr, y_tr, x_te, y_te = denoise_mix.build_denoise_mix(seed, fashion)
    digest = hashlib.sha256()
    for array in (x_tr, y_tr, x_te, y_te):
        digest.update(np.ascontiguousarray(array).data)
    return Dataset("denoise-mix", x_tr, y_tr, x_te, y_te, denoise_mix.CLASSES,
                   "sdae.data.denoise_mix (skimage.data photographs, dead leaves, Fashion-MNIST)",
                   {MIX_DIGEST: digest.hexdigest()})  # fmt: skip


def _image_folder(folder: Path, image_size, progress) -> Dataset:
    from sdae.data.folders import read_image_folder  # Pillow loads for image folders only

    f = read_image_folder(folder, image_size, progress=progress)
    return Dataset(folder.name, f.train_images, f.train_labels, f.test_images, f.test_labels,
                   f.class_names, str(folder), {FOLDER_DIGEST: f.sha256},
                   f.unlabelled_images)  # fmt: skip


def _idx_folder(folder: Path) -> Dataset:
    arrays, digests = {}, {}
    for names in IDX_NAMES.values():
        for name in names:
            found = [p for p in (folder / f"{name}.gz", folder / name) if p.is_file()]
            if not found:
                raise SdaeError(f"--data {folder}: no {name} (or {name}.gz); a folder of "
                                "MNIST-format files holds train-images-idx3-ubyte, "
                                "train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
                                "t10k-labels-idx1-ubyte; a folder of images holds train/"
                                "<class>/ and test/<class>/")  # fmt: skip
            arrays[name], digests[found[0].name] = _read_user_idx(found[0])
    images = {s: arrays[IDX_NAMES[s][0]] for s in IDX_NAMES}
    labels = {s: arrays[IDX_NAMES[s][1]] for s in IDX_NAMES}
    for split in IDX_NAMES:
        img, lbl = IDX_NAMES[split]
        if images[split].ndim != 3 or labels[split].ndim != 1:
            raise SdaeError(f"--data {folder}: {img} must hold images (3 dimensions) and {lbl} "
                            "labels (1 dimension); are the two files swapped?")  # fmt: skip
    names = _class_names(folder / "classes.txt", labels)
    return _checked(str(folder), images, labels, names, digests)


def _read_user_idx(path: Path) -> tuple[np.ndarray, str]:
    if path.stat().st_size == 0:
        raise SdaeError(f"{path}: an empty file (0 bytes); replace it with the IDX file")
    return read_idx_file(path, MAX_USER_IDX_BYTES)


def _class_names(path: Path, labels: dict[str, np.ndarray]) -> tuple[str, ...] | None:
    """The names in ``classes.txt`` (one a line), or None: then classes are the labels seen."""
    if not path.is_file():
        return None
    names = tuple(n.strip() for n in path.read_text(encoding="utf-8").splitlines() if n.strip())
    if not names:
        raise SdaeError(f"{path}: no class names in it; write one name a line, or remove it")
    return names


def _npz(path: Path) -> Dataset:
    if path.stat().st_size == 0:
        raise SdaeError(f"--data {path}: an empty file (0 bytes); give an .npz with "
                        f"{', '.join(NPZ_KEYS)}")  # fmt: skip
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in NPZ_KEYS if k not in npz.files]
            if missing:
                raise SdaeError(f"--data {path}: no array {missing[0]!r} in it (it holds "
                                f"{', '.join(npz.files) or 'nothing'}); an .npz source holds "
                                f"{', '.join(NPZ_KEYS)}")  # fmt: skip
            arrays = {k: npz[k] for k in NPZ_KEYS}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        detail = " ".join(str(exc).split())[:120]
        raise SdaeError(f"--data {path}: not a readable .npz of numeric arrays ({detail}); "
                        f"save it with numpy.savez({', '.join(NPZ_KEYS)})") from None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    images = {"train": _npz_images(path, "x_train", arrays["x_train"]),
              "test": _npz_images(path, "x_test", arrays["x_test"])}  # fmt: skip
    labels = {"train": _npz_labels(path, "y_train", arrays["y_train"]),
              "test": _npz_labels(path, "y_test", arrays["y_test"])}  # fmt: skip
    return _checked(str(path), images, labels, None, {path.name: digest})


def _npz_images(path: Path, key: str, x: np.ndarray) -> np.ndarray:
    if x.dtype.kind not in "uif" or x.ndim not in (3, 4) or x.size == 0:
        raise SdaeError(f"--data {path}: {key} is {x.dtype} {list(x.shape)}; give images "
                        "[N, H, W] or [N, H, W, C] of uint8 (0-255) or float (0-1)")
    if x.dtype == np.uint8:
        return x
    if x.dtype.kind == "f":
        if not (np.all(x >= 0) and np.all(x <= 1)):  # NaN fails both
            raise SdaeError(f"--data {path}: {key} holds floats outside [0, 1]; scale them "
                            "(pixels / 255), or save uint8 0-255")  # fmt: skip
        return np.round(x * 255).astype(np.uint8)
    if x.min() < 0 or x.max() > 255:
        raise SdaeError(f"--data {path}: {key} holds integers outside 0-255; save uint8")
    return x.astype(np.uint8)


def _npz_labels(path: Path, key: str, y: np.ndarray) -> np.ndarray:
    if y.dtype.kind not in "ui" or y.ndim != 1:
        raise SdaeError(f"--data {path}: {key} is {y.dtype} {list(y.shape)}; give whole-number "
                        "labels [N] (0, 1, 2, ...)")  # fmt: skip
    return y


def _checked(source: str, images: dict, labels: dict, names, digests) -> Dataset:
    """The :class:`Dataset`, once the splits agree with each other and with the classes."""
    for split in ("train", "test"):
        if len(images[split]) != len(labels[split]):
            raise SdaeError(f"--data {source}: {len(images[split])} {split} images but "
                            f"{len(labels[split])} {split} labels; they must pair one to one")
    if images["train"].shape[1:] != images["test"].shape[1:]:
        raise SdaeError(f"--data {source}: train images are {_shape(images['train'])} but test "
                        f"images {_shape(images['test'])}; give one size")  # fmt: skip
    top = int(max(labels["train"].max(initial=0), labels["test"].max(initial=0)))
    low = int(min(labels["train"].min(initial=0), labels["test"].min(initial=0)))
    if names is None:
        names = tuple(str(k) for k in range(top + 1))
    if low < 0 or top >= len(names):
        bad = low if low < 0 else top
        raise SdaeError(f"--data {source}: label {bad} is outside the {len(names)} classes "
                        f"(0 to {len(names) - 1}); fix the labels or classes.txt")
    if len(np.unique(labels["train"])) < 2:
        raise SdaeError(f"--data {source}: the training images have one class only; a "
                        "classifier needs at least two")  # fmt: skip
    return Dataset(Path(source).name, images["train"], labels["train"].astype(np.int64),
                   images["test"], labels["test"].astype(np.int64), tuple(names), source,
                   digests)  # fmt: skip


def _shape(x: np.ndarray) -> str:
    return "x".join(map(str, x.shape[1:]))
