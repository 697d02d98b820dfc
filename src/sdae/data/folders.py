"""Image folders in torchvision's ImageFolder layout, ``train/<class>/*``, ``test/<class>/*``
and an optional ``unlabelled/``, read into uint8 arrays: :func:`read_image_folder`.

Layout. ``train/`` holds one folder per class, named after it; the class names are those
folders' names, sorted (as torchvision's ``ImageFolder``), unless a ``classes.txt`` at the top
(one name a line) gives them, in its order: then the class folders must be exactly those
names. ``test/`` holds folders named after classes of ``train/`` (not necessarily all of them).
``unlabelled/`` holds images directly or in folders, whose names are ignored. A class folder
may hold subfolders too. Files are images by their extension (``.png``, ``.jpg``, ``.jpeg``,
``.bmp``, ``.gif``, ``.tif``, ``.tiff``, ``.webp``, any case); other files (``.DS_Store``,
``Thumbs.db``, ``README.txt``) are skipped, and so are hidden files and folders (a name
starting with ``.``: macOS's ``._x.png``, Jupyter's ``.ipynb_checkpoints``). A symlinked
folder is followed; a symlink loop is refused.

Pixels. If every image is grey (modes ``1``, ``L``, ``LA``, ``I;16``, ``I``, ``F``, or a
palette whose colours used are grey) the data set is grey, ``[N, H, W]``; otherwise it is
colour, ``[N, H, W, 3]``, and grey images are converted to RGB (the mode decides, not the
pixels: an RGB file of greys is colour, and so is any WebP, which has no grey mode). Alpha is
dropped, not composited onto a background: a transparent pixel keeps the colour stored under
it. 16-bit images are scaled to 8 bits (``round(v * 255 / 65535)``, not clipped), a 32-bit
integer TIFF by its bits per sample (another ``I`` image is taken as 16-bit), float images
(``F``) from [0, 1]. The EXIF orientation is applied (a photo the way up the camera
recorded). An animated GIF or a multi-page TIFF gives its first frame.

Size. ``image_size=(H, W)`` resizes every image to it; by default the images' most common
size is kept and the others are resized to it, with one note on stderr. Resizing is Pillow's
bilinear filter, which widens with the scale when shrinking (so it antialiases; it is
torchvision's ``Resize`` default), with ``reducing_gap=3`` (first a box reduction by a whole
factor when shrinking 6 times or more: far faster, practically the same), rather than
Lanczos, which rings (overshoots) at the hard edges of line art and is slower. A JPEG is
decoded at the smallest DCT scale that is at least the size asked (``Image.draft``).

Cache. The decoded arrays are cached (:mod:`sdae.data.cache`) under a key that hashes every
image's relative path, size and mtime (ns), ``classes.txt``, the size asked, Pillow's version
and the cache format: a second read of an unchanged folder lists it and loads the arrays;
changing, adding, removing or touching an image reads it again.

Digest. A user's files have no published checksum, and hashing every file's content on each
read would cost more than the cached read itself, so the digest is the SHA-256 of the decoded
images and labels (and class names), computed once and cached with them.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL
from tqdm.auto import tqdm

from sdae.data.cache import cache_file, load_cached, save_cached
from sdae.data.listing import SPLITS, Listing, list_folder
from sdae.data.pictures import decode_into, pillow_warnings, survey
from sdae.data.sizes import MAX_SIDE, parse_image_size
from sdae.errors import SdaeError

MAX_DECODED_BYTES = 8 * 2**30  # all decoded images together
CACHE_VERSION = 1


@dataclass(frozen=True)
class FolderImages:
    """The arrays of an image folder: images uint8 ``[N, H, W]`` or ``[N, H, W, 3]``, labels
    int64 ``[N]``; ``unlabelled_images`` None without images in ``unlabelled/``; ``sha256`` of
    the decoded arrays; ``resized``: how many images were not of the common size (0 when a
    size was asked)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    unlabelled_images: np.ndarray | None
    class_names: tuple[str, ...]
    sha256: str
    resized: int = 0


def read_image_folder(folder: str | Path, image_size: tuple[int, int] | None = None, *,
                      progress: bool | None = None) -> FolderImages:  # fmt: skip
    """The images of ``folder`` (see the module's text), at ``image_size`` ``(H, W)`` or the
    most common size; from the cache when the folder has not changed since it was cached.
    ``progress``: a progress bar on stderr (None: when stderr is a terminal). A folder that
    cannot be used is one :class:`SdaeError` line naming the file or folder."""
    folder = Path(folder)
    if image_size is not None:
        image_size = parse_image_size("x".join(str(int(s)) for s in image_size))
    listing = list_folder(folder)
    key = _key(listing, image_size)
    where = cache_file(folder, image_size)
    cached = load_cached(where, key)
    if cached is not None:
        found = _from_cache(cached)
    else:
        found = _decode_all(folder, listing, image_size, progress)
        save_cached(where, key, _to_cache(found))
    if found.resized:
        total = sum(len(f) for f in listing.files.values())
        side = "x".join(map(str, found.train_images.shape[1:3]))
        print(f"sdae: note: {found.resized} of {total} images are not {side}; resized to {side} "
              "(set --image-size HxW)", file=sys.stderr)  # fmt: skip
    return found


def _key(listing: Listing, image_size: tuple[int, int] | None) -> str:
    """What the cached arrays were decoded from: every image's relative path, size and mtime,
    classes.txt, the size asked, Pillow's version and the cache format."""
    head = f"sdae image folder {CACHE_VERSION}\0{image_size}\0Pillow {PIL.__version__}\0"
    digest = hashlib.sha256(head.encode())
    digest.update(b"classes.txt\0" + (listing.classes_txt or b"(none)") + b"\0")
    for split in SPLITS:
        digest.update(f"{split}\0".encode())
        for rel, size, mtime in listing.files[split]:
            digest.update(f"{rel}\0{size}\0{mtime}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _decode_all(folder: Path, listing: Listing, image_size, progress) -> FolderImages:
    """Every image decoded, in two passes: the headers (sizes, grey or colour), then the
    pixels, each into its slot of arrays allocated once."""
    n = sum(len(listing.files[s]) for s in SPLITS)
    bar = {"total": n, "disable": None if progress is None else not progress, "leave": False,
           "unit": "img", "mininterval": 0.5}  # fmt: skip
    with pillow_warnings():
        sizes, grey = np.empty((n, 2), np.int64), np.empty(n, bool)
        for i, path in enumerate(tqdm(_paths(folder, listing), desc="scanning images", **bar)):
            sizes[i, 0], sizes[i, 1], grey[i] = survey(path)
        colour = not grey.all()
        found, counts = np.unique(sizes, axis=0, return_counts=True)
        common = tuple(int(s) for s in found[np.argmax(counts)])  # ties: the smallest
        h, w = image_size or common
        if image_size is None and max(h, w) > MAX_SIDE:
            raise SdaeError(f"--data {folder}: most images are {h}x{w}, over {MAX_SIDE} pixels "
                            "a side; pass a smaller --image-size (such as 256x256)")  # fmt: skip
        need = n * h * w * (3 if colour else 1)
        if need > MAX_DECODED_BYTES:
            raise SdaeError(f"--data {folder}: {n} images of {h}x{w}{'x3' if colour else ''} "
                            f"take {_amount(need)} decoded, over the {_amount(MAX_DECODED_BYTES)} "
                            "sdae reads; pass a smaller --image-size")  # fmt: skip
        shape = (h, w, 3) if colour else (h, w)
        arrays = {s: np.empty((len(listing.files[s]), *shape), np.uint8) for s in SPLITS}
        slots = (x for s in SPLITS for x in arrays[s])
        for path, slot in zip(tqdm(_paths(folder, listing), desc="decoding images", **bar), slots):
            decode_into(path, slot, colour)
    resized = 0 if image_size else int(np.count_nonzero(np.any(sizes != common, axis=1)))
    labels = {s: np.asarray(listing.labels[s], np.int64) for s in ("train", "test")}
    unlabelled = arrays["unlabelled"] if len(arrays["unlabelled"]) else None
    images = (arrays["train"], labels["train"], arrays["test"], labels["test"], unlabelled)
    return FolderImages(*images, listing.classes, _digest(images, listing.classes), resized)


def _amount(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n} bytes"


def _paths(folder: Path, listing: Listing) -> Iterator[str]:
    root = str(folder)
    return (os.path.join(root, rel) for s in SPLITS for rel, _, _ in listing.files[s])


def _digest(images: tuple, classes: tuple[str, ...]) -> str:
    """SHA-256 of the decoded arrays (shape, type and bytes of each) and the class names."""
    digest = hashlib.sha256("\n".join(classes).encode() + b"\0")
    for x in images:
        x = np.zeros((0,), np.uint8) if x is None else np.ascontiguousarray(x)
        digest.update(f"{x.dtype.str}{list(x.shape)}\0".encode())
        digest.update(memoryview(x).cast("B"))
    return digest.hexdigest()


def _to_cache(f: FolderImages) -> dict:
    shape = (0, *f.train_images.shape[1:])
    unlabelled = np.empty(shape, np.uint8) if f.unlabelled_images is None else f.unlabelled_images
    return {"train_images": f.train_images, "train_labels": f.train_labels,
            "test_images": f.test_images, "test_labels": f.test_labels,
            "unlabelled_images": unlabelled, "class_names": np.array(f.class_names, dtype=str),
            "sha256": np.array(f.sha256), "resized": np.array(f.resized, np.int64)}  # fmt: skip


def _from_cache(a: dict) -> FolderImages:
    unlabelled = a["unlabelled_images"] if len(a["unlabelled_images"]) else None
    return FolderImages(a["train_images"], a["train_labels"], a["test_images"], a["test_labels"],
                        unlabelled, tuple(str(n) for n in a["class_names"]), str(a["sha256"]),
                        int(a["resized"]))  # fmt: skip
