"""Reading a user's images for ``sdae denoise``, at their own size: picture files (PNG, JPEG
and whatever else Pillow opens) and ``.npy`` arrays ``[H, W]`` or ``[N, H, W]`` of uint8
(0-255) or float (0-1). Pixels follow Fashion-MNIST: white 1, black 0.

A picture is read upright (its EXIF orientation applied) as ``[1, H, W]`` (grey: modes
``1``, ``L``, ``LA``, ``I;16``, ``I``, ``F``) or ``[1, H, W, 3]`` (colour: ``RGB``, ``RGBA``;
a palette image becomes ``RGB``, or ``RGBA`` when it has transparency; ``CMYK`` and other
colour modes become ``RGB``, with a note). 16-bit (and 32-bit integer) images are scaled by
65535. An alpha channel is kept aside, as read, for the output (:class:`ImageInfo`), never
denoised. Refused, one :class:`SdaeError` line each: a multi-frame image (an animated GIF,
a multi-page TIFF; a phone's MPO gives its main picture), an image over Pillow's
decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``, whose warning counts as an error), a
side over :data:`MAX_SIDE` or more than :data:`MAX_PIXELS` pixels in a file, and anything
unreadable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from sdae.data.pictures import BROKEN, pillow_warnings
from sdae.errors import SdaeError

ACCEPTED = "give uint8 (0-255) or float (0-1) images of shape [H, W] or [N, H, W]"

SIDE = 28  # the MLP DAE's image side (784 inputs)
MAX_SIDE = 30_000  # pixels, either side of an image
MAX_PIXELS = 200_000_000  # pixels in one file (every image of an array together)
LIMITS = f"at most {MAX_SIDE} pixels a side and {MAX_PIXELS // 10**6} MP"

GREY, COLOUR = ("1", "L", "LA", "La", "I", "F"), ("RGB", "RGBA")


@dataclass(frozen=True)
class ImageInfo:
    """How a file's images were read, so that the output can match the input."""

    kind: str  # "image" (PNG, JPEG, ...) or "npy"
    size: tuple[int, int]  # width, height of one image as read
    colour: bool  # the images are [N, H, W, 3]
    dtype: str  # "uint8", "uint16" (16-bit image) or "float32" (float .npy)
    shape: tuple[int, ...] = ()  # the .npy array's shape
    alpha: np.ndarray | None = field(default=None, repr=False, compare=False)  # as read
    notes: tuple[str, ...] = ()  # how the file was converted to be read

    @property
    def mode(self) -> str:
        """The Pillow mode of the output picture: the input's, as far as PNG holds it."""
        if self.dtype == "uint16":
            return "I;16"
        return ("RGB" if self.colour else "L") + ("A" if self.alpha is not None else "")

    def describe(self) -> str:
        """``640x427``, with `` colour`` for a colour image."""
        return f"{self.size[0]}x{self.size[1]}" + (" colour" if self.colour else "")


def read_images(path: str | Path) -> tuple[np.ndarray, ImageInfo]:
    """Read ``path``: ``(images float32 [N, H, W] or [N, H, W, 3] in [0, 1], info)``; one
    image unless it is an ``[N, H, W]`` array. Anything unreadable is one :class:`SdaeError`
    line naming the file."""
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


def check_size(path, w: int, h: int, count: int = 1) -> None:
    """Refuse ``count`` images of ``w`` x ``h`` over :data:`MAX_SIDE` or :data:`MAX_PIXELS`."""
    if max(w, h) > MAX_SIDE or w * h * count > MAX_PIXELS:
        what = f"{w}x{h}" + (f" x {count}" if count > 1 else "")
        raise SdaeError(f"{path} is {what} pixels, over sdae's limit ({LIMITS}); cut it into "
                        "parts or shrink it")  # fmt: skip


def _read_picture(path: Path) -> tuple[np.ndarray, ImageInfo]:
    try:
        with pillow_warnings(), Image.open(path) as img:
            check_size(path, *img.size)  # from the header, before any pixel is decoded
            frames = getattr(img, "n_frames", 1)
            if frames > 1 and img.format != "MPO":  # MPO: a phone's JPEG and its preview
                raise SdaeError(f"{path}: a multi-frame image ({frames} frames); save the frame "
                                "you want as PNG")  # fmt: skip
            img.load()
            img = ImageOps.exif_transpose(img)  # photos: the way up the camera recorded
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise SdaeError(f"{path}: refused as a possible decompression bomb ({_detail(exc)}); "
                        "shrink it or cut it into parts") from None  # fmt: skip
    except UnidentifiedImageError:
        raise SdaeError(f"{path}: not an image; give PNG, JPEG or .npy files") from None
    except BROKEN as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise
        raise SdaeError(f"{path}: broken or truncated image ({_detail(exc)}); give a whole "
                        "one") from None  # fmt: skip
    return _pixels(path, img)


def _pixels(path: Path, img: Image.Image) -> tuple[np.ndarray, ImageInfo]:
    notes, mode = [], img.mode
    if mode in ("P", "PA"):
        alpha = mode == "PA" or "transparency" in img.info
        img = img.convert("RGBA" if alpha else "RGB")
        notes.append(f"{path} is a palette image; read as {img.mode}")
    elif mode not in GREY + COLOUR and not mode.startswith("I;16"):
        img = img.convert("RGBA" if mode.endswith(("A", "a")) else "RGB")
        notes.append(f"{path} is {mode}; converted to {img.mode}")
    has_alpha = img.mode in ("LA", "La", "RGBA")
    alpha = np.asarray(img.getchannel(img.getbands()[-1])) if has_alpha else None
    deep = img.mode.startswith("I")  # 16-bit (or 32-bit) integers: scaled by the 16-bit range
    if deep or img.mode == "F":
        x = np.clip(np.nan_to_num(np.asarray(img, np.float32) / (65535 if deep else 1)), 0, 1)
    else:
        x = np.asarray(img.convert("RGB" if img.mode in COLOUR else "L"), np.float32) / 255
    info = ImageInfo("image", img.size, x.ndim == 3, "uint16" if deep else "uint8",
                     alpha=alpha, notes=tuple(notes))  # fmt: skip
    return x[None], info


def _detail(exc: Exception) -> str:
    return " ".join(str(exc).split())[:160] or type(exc).__name__


def _read_npy(path: Path) -> tuple[np.ndarray, ImageInfo]:
    try:  # a memory map: the shape and dtype are checked before the data is read
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, EOFError) as exc:
        raise SdaeError(f"{path}: not a valid .npy file ({_detail(exc)}); {ACCEPTED}") from None
    if not isinstance(arr, np.ndarray):
        arr.close()
        raise SdaeError(f"{path}: an .npz archive, not a .npy array; {ACCEPTED}")
    integer = arr.dtype == np.uint8
    if not (integer or arr.dtype.kind == "f") or arr.ndim not in (2, 3) or arr.size == 0:
        raise SdaeError(f"{path}: a .npy array of {arr.dtype} {list(arr.shape)}; {ACCEPTED}")
    h, w = arr.shape[-2:]
    check_size(path, w, h, arr.size // (h * w))
    x = np.array(arr, dtype=np.float32).reshape(-1, h, w)
    if integer:
        x /= 255
    elif not (np.all(x >= 0) and np.all(x <= 1)):  # NaN fails both
        found = "NaN" if np.isnan(x).any() else f"values from {x.min():g} to {x.max():g}"
        raise SdaeError(f"{path}: float images must be in [0, 1] (white 1, black 0), found "
                        f"{found}; scale them, or save uint8 0-255")  # fmt: skip
    dtype = "uint8" if integer else "float32"
    return x, ImageInfo("npy", (w, h), False, dtype, tuple(arr.shape))
