"""Fashion-MNIST: finding, verifying and parsing the IDX files, and the paper's subsets.

Paper §IV.A: 60000 training and 10000 test images, 28x28 grey levels scaled to [0, 1].
Paper §V: experiments use a stratified subset of 600 images per class of the training split
and 60 per class of the test split (6000 / 600 images): the ``paper`` protocol. The
``full`` protocol uses all 60000 / 10000.

Every file is verified by the SHA-256 of its *decompressed* bytes, wherever it came from:
Debian's package recompresses the official ``.gz`` files (other gzip headers, same IDX
bytes), so the IDX payload is the one identity all sources share. A download is also
checked against the official ``.gz`` SHA-256 by pooch before it is opened.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sdae.data.idx import read_idx
from sdae.errors import SdaeError

CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip


N_CLASSES = 10


IMAGE_SHAPE = (28, 28)


N_PIXELS = 784


BASE_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"


# name -> (SHA-256 of the IDX bytes, SHA-256 of the official .gz download)
FILES = {
    "train-images-idx3-ubyte": (
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    ),
    "train-labels-idx1-ubyte": (
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    ),
    "t10k-images-idx3-ubyte": (
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    ),
    "t10k-labels-idx1-ubyte": (
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    ),
}


SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


def cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "sdae" / "fashion-mnist"


def _file_in(folder: Path, name: str) -> Path | None:
    """``name`` (.gz or plain) in ``folder``; an unreadable folder holds none: search past it."""
    for candidate in (folder / f"{name}.gz", folder / name):
        try:
            if candidate.is_file():
                return candidate
        except OSError:
            return None
    return None


def _complete(folder: Path) -> bool:
    return all(_file_in(folder, name) for name in FILES)


def _how_to_get() -> str:
    return (
        "pass --data-dir DIR (or set SDAE_DATA) to a folder holding the four IDX files, "
        "install Debian's package with `apt-get install dataset-fashion-mnist`, "
        f"or run `sdae data` with internet access to download them into {cache_dir()}"
    )


def _download(folder: Path) -> None:
    import pooch  # imported here: only a download needs it

    for name, (_, gz_sha) in FILES.items():
        pooch.retrieve(
            BASE_URL + f"{name}.gz", known_hash=f"sha256:{gz_sha}",
            fname=f"{name}.gz", path=folder, progressbar=False,
        )  # fmt: skip


def locate_data(
    data_dir: str | Path | None = None,
    *,
    download: bool = True,
    search: tuple[Path, ...] | None = None,
) -> Path:
    """The folder holding Fashion-MNIST, found in the documented order.

    Order: ``data_dir`` (or ``$SDAE_DATA``), the user cache (``~/.cache/sdae/fashion-mnist``),
    Debian's ``/usr/share/datasets/fashion-mnist``; else a download into the cache when
    ``download`` is true. ``search`` replaces the cache and system folders (for tests).
    """
    explicit = data_dir or os.environ.get("SDAE_DATA")
    if explicit:
        folder = Path(explicit).expanduser()
        if not _complete(folder):
            _explain(folder, "--data-dir" if data_dir else "$SDAE_DATA")
        return folder
    folders = search if search is not None else (cache_dir(), SYSTEM_DIR)
    for folder in folders:
        if _complete(folder):
            return folder
    reason = "downloads are switched off"
    if download:
        try:
            _download(folders[0])
            return folders[0]
        except Exception as exc:  # any network or hash failure: explain, don't trace
            reason = f"the download failed ({type(exc).__name__}: {str(exc)[:120]})"
    looked = ", ".join(str(f) for f in folders)
    raise SdaeError(f"Fashion-MNIST not found (looked in {looked}; {reason}): {_how_to_get()}")


def _explain(folder: Path, origin: str = "--data-dir") -> None:
    """Raise why a folder the user named (``origin``: ``--data-dir`` or ``$SDAE_DATA``) is
    unusable: a file, unreadable, or files missing."""
    if origin == "$SDAE_DATA":
        fix = ("set $SDAE_DATA to the folder that holds the four IDX files, or unset it to "
               "use the cache or Debian's package (and `sdae data` to download)")
        folder_text = f"{folder} (from $SDAE_DATA)"
    else:
        fix = "pass --data-dir (or SDAE_DATA) the folder that holds the four IDX files"
        folder_text = str(folder)
    try:
        if folder.is_file():
            raise SdaeError(f"{folder} is a file, not a folder; {fix}")
        if folder.is_dir() and not os.access(folder, os.R_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
        odd = [c for n in FILES for c in (folder / f"{n}.gz", folder / n) if c.is_dir()]
    except OSError as exc:
        raise SdaeError(
            f"{folder}: cannot read the folder ({exc.strerror or exc}); "
            f"make it readable (`chmod u+rx {folder}`) or {fix}"
        ) from None
    if odd:
        raise SdaeError(f"{odd[0]} is a folder, not an IDX file; remove it and put the file there")
    missing = ", ".join(n for n in FILES if _file_in(folder, n) is None)
    how = fix if origin == "$SDAE_DATA" else _how_to_get()
    raise SdaeError(f"{folder_text} does not hold the four Fashion-MNIST IDX files (missing "
                    f"{missing}; .gz or plain); {how}")


def read_split(folder: Path, split: str, verify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Images ``[N, 28, 28]`` uint8 and labels ``[N]`` uint8 of one split, checked together."""
    img_name, lbl_name = SPLITS[split]
    img_path, lbl_path = _file_in(folder, img_name), _file_in(folder, lbl_name)
    if img_path is None or lbl_path is None:
        raise SdaeError(f"{folder}: missing {img_name} or {lbl_name}; {_how_to_get()}")
    images = read_idx(img_path, FILES[img_name][0] if verify else None)
    labels = read_idx(lbl_path, FILES[lbl_name][0] if verify else None)
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise SdaeError(f"{img_path}: images of shape {images.shape[1:]}, expected 28x28")
    if labels.ndim != 1:
        raise SdaeError(f"{lbl_path}: a label file must have one dimension, not {labels.ndim}")
    if len(images) != len(labels):
        raise SdaeError(
            f"{img_path} holds {len(images)} images but {lbl_path} holds {len(labels)} labels; "
            "the two files must come from the same split"
        )
    if labels.size and labels.max() >= N_CLASSES:
        raise SdaeError(f"{lbl_path}: label {int(labels.max())} outside 0-9; replace the file")
    return images, labels


@dataclass(frozen=True)
class FashionMNIST:
    """Both splits as uint8 arrays: images ``[N, 28, 28]``, labels ``[N]``."""

    source: Path
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


@functools.lru_cache(maxsize=2)
def _load(folder: Path) -> FashionMNIST:
    train = read_split(folder, "train")
    test = read_split(folder, "test")
    return FashionMNIST(folder, train[0], train[1], test[0], test[1])


def load_fashion_mnist(data_dir: str | Path | None = None, *, download: bool = True):
    """Find, verify and parse Fashion-MNIST (see :func:`locate_data` for the search order)."""
    return _load(locate_data(data_dir, download=download).resolve())
