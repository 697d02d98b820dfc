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
import gzip
import hashlib
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sdae.errors import SdaeError

if TYPE_CHECKING:
    import torch

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
IDX_MAGIC = {0x00000801: 1, 0x00000803: 3}  # unsigned-byte labels (1 dim), images (3 dims)
# images per class (train, test): the paper's subsets, everything, and a small preview
PROTOCOLS = {"paper": (600, 60), "full": (None, None), "mini": (100, 30)}
# Above the largest file (47,040,016 bytes): a gzip bomb is one line, not exhausted memory.
MAX_IDX_BYTES = 64 * 2**20
_CHUNK = 64 * 2**10  # small reads: one large read() preallocates its whole size
_REPLACE = "replace the file, or delete it and run `sdae data` again"


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
            _explain(folder)
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


def _explain(folder: Path) -> None:
    """Raise why a folder the user named is unusable: a file, unreadable, or files missing."""
    fix = "pass --data-dir (or SDAE_DATA) the folder that holds the four IDX files"
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
    raise SdaeError(
        f"{folder} does not hold the four Fashion-MNIST IDX files (missing {missing}; "
        f".gz or plain); {_how_to_get()}"
    )


def _open(path: Path):  # one place to open data files (tests make it fail)
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _read_capped(f, path: Path) -> bytes:
    """All bytes of ``f`` in small chunks, refusing more than ``MAX_IDX_BYTES``."""
    chunks, total = [], 0
    while chunk := f.read(_CHUNK):
        total += len(chunk)
        if total > MAX_IDX_BYTES:
            raise SdaeError(f"{path}: over {MAX_IDX_BYTES} bytes, not Fashion-MNIST; {_REPLACE}")
        chunks.append(chunk)
    return b"".join(chunks)


def _read_bytes(path: Path) -> bytes:
    """The IDX bytes of ``path``; every way a file can be unreadable is one line naming it
    (corrupt gzip raises zlib.error, BadGzipFile or EOFError, not just OSError)."""
    try:
        with _open(path) as f:
            return _read_capped(f, path)
    except (OSError, EOFError, zlib.error) as exc:
        reason, fix = getattr(exc, "strerror", None) or str(exc), _REPLACE
        if isinstance(exc, PermissionError):
            fix = f"make it readable (`chmod u+r {path}`) or {_REPLACE}"
        elif isinstance(exc, IsADirectoryError):
            reason, fix = "a folder, not a file", "remove the folder and put the IDX file there"
        elif isinstance(exc, (zlib.error, gzip.BadGzipFile, EOFError)):
            reason = f"corrupt gzip data: {exc}"
        raise SdaeError(f"{path}: cannot read it ({reason}); {fix}") from None


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes (unsigned-byte type only) into a uint8 array, trusting no header field.

    Shapes: labels ``[N]``, images ``[N, rows, cols]``. The declared size is only compared
    with the bytes present, never allocated: a forged header cannot exhaust memory.
    """
    if len(raw) < 4:
        raise SdaeError(f"{name}: only {len(raw)} bytes, too short for IDX; replace the file")
    magic = int.from_bytes(raw[:4], "big")
    if magic not in IDX_MAGIC:
        raise SdaeError(
            f"{name}: wrong magic number 0x{magic:08x} (expected 0x00000801 for labels or "
            "0x00000803 for images); not an IDX file of unsigned bytes: replace the file"
        )
    ndim = IDX_MAGIC[magic]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise SdaeError(f"{name}: truncated header ({len(raw)}/{header} bytes); replace the file")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = math.prod(dims)  # exact: up to (2**32 - 1) ** 3 would overflow int64
    if len(raw) - header != expected:
        raise SdaeError(
            f"{name}: truncated or padded data: header says {'x'.join(map(str, dims))} = "
            f"{expected} bytes, file holds {len(raw) - header}; replace the file"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def read_idx(path: str | Path, sha256: str | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` or plain); when ``sha256`` is given, check the IDX bytes."""
    path = Path(path)
    raw = _read_bytes(path)
    if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
        raise SdaeError(
            f"{path}: SHA-256 of its contents does not match Fashion-MNIST's "
            "(corrupt or another data set); delete it and run `sdae data` again"
        )
    return parse_idx(raw, str(path))


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


@dataclass(frozen=True)
class Split:
    """Images as float32 ``x: [N, 784]`` in [0, 1], labels ``y: [N]`` int64, and the
    indices ``index: [N]`` of the images in the original split."""

    x: torch.Tensor
    y: torch.Tensor
    index: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def to(self, device: str | torch.device) -> Split:
        return Split(self.x.to(device), self.y.to(device), self.index)


def stratified_indices(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """``per_class`` indices of each class, drawn without replacement by ``seed``.

    Returned sorted, so the subset does not depend on the order classes were drawn in.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    chosen = []
    for c in range(N_CLASSES):
        members = np.flatnonzero(labels == c)
        if per_class > len(members):
            raise SdaeError(
                f"asked for {per_class} images of class {c} but only {len(members)} exist; "
                "ask for fewer"
            )
        chosen.append(rng.choice(members, size=per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def make_split(images: np.ndarray, labels: np.ndarray, index: np.ndarray | None = None) -> Split:
    if index is None:
        index = np.arange(len(labels))
    import torch  # here: finding and checking the data needs no torch (fast `sdae data`)

    x = torch.from_numpy(images[index].reshape(len(index), N_PIXELS).astype(np.float32) / 255.0)
    return Split(x, torch.from_numpy(labels[index].astype(np.int64)), index)


def protocol_splits(data: FashionMNIST, protocol: str, seed: int) -> tuple[Split, Split]:
    """The training and test sets of a protocol: ``paper`` (600 / 60 images per class, drawn
    by ``seed``), ``full`` (60000 / 10000) or ``mini`` (100 / 30 per class, for previews)."""
    if protocol not in PROTOCOLS:
        raise SdaeError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    n_train, n_test = PROTOCOLS[protocol]
    rng = np.random.default_rng(seed)
    train_seed, test_seed = (int(s) for s in rng.integers(0, 2**31, size=2))
    train_idx = test_idx = None
    if n_train is not None:
        train_idx = stratified_indices(data.train_labels, n_train, train_seed)
        test_idx = stratified_indices(data.test_labels, n_test, test_seed)
    return (
        make_split(data.train_images, data.train_labels, train_idx),
        make_split(data.test_images, data.test_labels, test_idx),
    )
