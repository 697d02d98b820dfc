"""Reading a user's images for ``sdae denoise``: PNG / JPEG files (any mode: colour is converted
to grayscale, 16-bit is scaled by its range, any size is resized to 28x28) and ``.npy`` arrays
``[28, 28]`` or ``[N, 28, 28]`` of uint8 (0-255) or float (0-1). Pixels follow
Fashion-MNIST: white 1, black 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from sdae.errors import SdaeError

ACCEPTED = "give uint8 (0-255) or float (0-1) images of shape [28, 28] or [N, 28, 28]"

SIDE = 28  # the models' image side: images are read at 28x28


@dataclass(frozen=True)
class ImageInfo:
    """How a file's images were read, so that the output can match the input."""

    kind: str  # "image" (PNG, JPEG, ...) or "npy"
    size: tuple[int, int]  # width, height of one image as read
    colour: bool  # converted from colour to grayscale
    resized: bool  # resized to 28x28 (and the output back to ``size``)
    dtype: str  # "uint8", "uint16" (16-bit image) or "float32" (float .npy)
    shape: tuple[int, ...] = ()  # the .npy array's shape


def read_images(path: str | Path) -> tuple[np.ndarray, ImageInfo]:
    """Read ``path``: ``(images float32 [N, 28, 28] in [0, 1], info)``; one image unless
    it is an ``[N, 28, 28]`` array. Anything unreadable is one :class:`SdaeError` line."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".npy":
            return _read_npy(path)
        return _read_picture(path)
    except FileNotFoundError:
        raise SdaeError(f"{path}: no such file; check the path") from None
    except IsADirectoryError:
        raise SdaeError(f"{path}: is a folder; give image or .npy files") from None
    except OSError as exc:
        if exc.errno is None:
            raise
        raise SdaeError(f"{path}: cannot read it ({exc.strerror}); check its permissions") from None


def _read_picture(path: Path) -> tuple[np.ndarray, ImageInfo]:

    try:
        with Image.open(path) as img:
            img.load()
            img = ImageOps.exif_transpose(img)  # photos: the way up the camera recorded
    except UnidentifiedImageError:
        raise SdaeError(f"{path}: not an image; give PNG, JPEG or .npy files") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise
        detail = " ".join(str(exc).split())
        raise SdaeError(f"{path}: broken or truncated image ({detail}); give a whole one") from None
    deep = img.mode.startswith("I")  # 16-bit (or 32-bit) integers: scaled by the 16-bit range
    if deep or img.mode == "F":
        x = np.clip(np.nan_to_num(np.asarray(img, np.float64) / (65535 if deep else 1)), 0, 1)
    else:
        x = np.asarray(img.convert("L"), dtype=np.float32) / 255
    info = ImageInfo("image", img.size, Image.getmodebase(img.mode) != "L",
                     img.size != (SIDE, SIDE), "uint16" if deep else "uint8")  # fmt: skip
    return resize(x, (SIDE, SIDE))[None], info


def _read_npy(path: Path) -> tuple[np.ndarray, ImageInfo]:
    try:  # a memory map: the shape and dtype are checked before the data is read
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, EOFError) as exc:
        detail = " ".join(str(exc).split())
        raise SdaeError(f"{path}: not a valid .npy file ({detail}); {ACCEPTED}") from None
    if not isinstance(arr, np.ndarray):
        arr.close()
        raise SdaeError(f"{path}: an .npz archive, not a .npy array; {ACCEPTED}")
    integer = arr.dtype == np.uint8
    ok = (integer or arr.dtype.kind == "f") and arr.ndim in (2, 3) and arr.size > 0
    if not ok or arr.shape[-2:] != (SIDE, SIDE):
        raise SdaeError(f"{path}: a .npy array of {arr.dtype} {list(arr.shape)}; {ACCEPTED}")
    x = np.array(arr, dtype=np.float32).reshape(-1, SIDE, SIDE)
    if integer:
        x /= 255
    elif not (np.all(x >= 0) and np.all(x <= 1)):  # NaN fails both
        found = "NaN" if np.isnan(x).any() else f"values from {x.min():g} to {x.max():g}"
        raise SdaeError(f"{path}: float images must be in [0, 1] (white 1, black 0), found "
                        f"{found}; scale them, or save uint8 0-255")  # fmt: skip
    dtype = "uint8" if integer else "float32"
    return x, ImageInfo("npy", (SIDE, SIDE), False, False, dtype, tuple(arr.shape))


def resize(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``x: [H, W]`` float resized to ``size`` (width, height): area average when shrinking,
    bilinear otherwise; ``x`` itself when it has that size."""

    if x.shape[::-1] == size:
        return x.astype(np.float32)
    shrink = size[0] <= x.shape[1] and size[1] <= x.shape[0]
    method = Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR
    return np.array(Image.fromarray(x.astype(np.float32)).resize(size, method))
