"""One picture of an image folder (:mod:`sdae.data.folders`): its header surveyed (size as
read, grey or colour), then its pixels decoded into its slot of a uint8 array, every problem one
:class:`SdaeError` line naming the file. Pillow decodes; only the formats of :data:`FORMATS`.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import struct
import warnings
import zlib
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from sdae.errors import SdaeError

#: the decoders Pillow may use (MPO: a phone's JPEG); never EPS (Ghostscript) and the like
FORMATS = ("PNG", "JPEG", "MPO", "BMP", "GIF", "TIFF", "WEBP")
FIX = "replace it or remove it"
GREY_MODES = frozenset({"1", "L", "LA", "I", "F"})  # and I;16, I;16B, ...
ORIENTATION = 0x0112  # the EXIF tag; 5 to 8 turn the image a quarter
BROKEN = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)


def unreadable(path, exc: OSError) -> SdaeError:
    """The line for a file or folder the system refuses to read (or a symlink loop)."""
    if exc.errno == errno.ELOOP:
        return SdaeError(f"{path}: a symlink loop; remove the link")
    return SdaeError(f"{path}: cannot read it ({exc.strerror or exc}); make it readable, "
                     "or remove it")  # fmt: skip


@contextlib.contextmanager
def pillow_warnings() -> Iterator[None]:
    """Pillow's decompression-bomb warning (an image over ``Image.MAX_IMAGE_PIXELS``) raised
    as an error, its other warnings (one per odd file) silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="PIL")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


@contextlib.contextmanager
def _opened(path: str) -> Iterator[Image.Image]:
    """The image at ``path``, opened; whatever goes wrong while it is read is one
    :class:`SdaeError` line naming it."""
    try:
        with Image.open(path, formats=_formats()) as im:
            yield im
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise SdaeError(f"{path}: refused as a decompression bomb ({_detail(exc)}); shrink the "
                        "image or remove it") from None  # fmt: skip
    except UnidentifiedImageError:
        raise SdaeError(f"{path}: not an image sdae reads (PNG, JPEG, BMP, GIF, TIFF or "
                        f"WebP); {FIX}") from None  # fmt: skip
    except BROKEN as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise unreadable(path, exc) from None
        raise SdaeError(f"{path}: a broken or truncated image ({_detail(exc)}); {FIX}") from None


@functools.cache
def _formats() -> tuple[str, ...]:
    """:data:`FORMATS` that this Pillow has (an unknown name is an error to ``Image.open``)."""
    Image.init()
    return tuple(f for f in FORMATS if f in Image.OPEN)


def _detail(exc: Exception) -> str:
    return " ".join(str(exc).split())[:160] or type(exc).__name__


def _orientation(im: Image.Image) -> int:
    if im.format == "PNG" and "exif" not in im.info:
        return 1  # Pillow's getexif() would decode the PNG to look after its pixels
    return int(im.getexif().get(ORIENTATION, 1) or 1)


def survey(path: str) -> tuple[int, int, bool]:
    """``(height, width, grey)`` of the image at ``path`` as it will be read (turned by its
    EXIF orientation), from its header; a palette image is decoded to see its colours."""
    with _opened(path) as im:
        w, h = im.size
        if _orientation(im) in (5, 6, 7, 8):
            w, h = h, w
        if im.mode in GREY_MODES or im.mode.startswith("I;16"):
            return h, w, True
        if im.mode not in ("P", "PA"):
            return h, w, False
        im.load()
        if im.mode not in ("P", "PA"):  # a GIF of greys loads as L
            return h, w, im.mode in GREY_MODES
        palette = np.asarray(im.getpalette("RGB") or [0, 0, 0], np.int64).reshape(-1, 3)
        used = np.unique(np.asarray(im.getchannel(0)))
        rgb = palette[used[used < len(palette)]]
        return h, w, bool(np.all(rgb == rgb[:, :1]))


def decode_into(path: str, out: np.ndarray, colour: bool) -> None:
    """Decode the image at ``path`` into ``out`` (uint8 ``[H, W]`` or ``[H, W, 3]``)."""
    h, w = out.shape[:2]
    with _opened(path) as im:
        if im.format in ("JPEG", "MPO"):
            im.draft(im.mode, (h, w) if _orientation(im) in (5, 6, 7, 8) else (w, h))
        im.load()
        top = _deep_top(im)
        ImageOps.exif_transpose(im, in_place=True)
        pic = _eight_bit(im, top).convert("RGB" if colour else "L")
        if pic.size != (w, h):
            pic = pic.resize((w, h), Image.Resampling.BILINEAR, reducing_gap=3.0)
        out[...] = np.asarray(pic)


def _deep_top(im: Image.Image) -> int:
    """The value that is white in a 16- or 32-bit integer image (TIFFs say their bits)."""
    if im.mode.startswith("I;16"):
        return 65535
    tags = getattr(im, "tag_v2", None) or {}
    bits, kind = tags.get(258, 16), tags.get(339, 1)  # BitsPerSample, SampleFormat
    bits, kind = (v[0] if isinstance(v, tuple) else v for v in (bits, kind))
    return 2 ** (int(bits) - (kind == 2)) - 1  # 2: signed


def _eight_bit(im: Image.Image, top: int) -> Image.Image:
    """``im`` with 8-bit pixels: integer images scaled from ``0 .. top``, floats from
    [0, 1]; 8-bit images as they are."""
    if im.mode == "F":
        x = np.clip(np.nan_to_num(np.asarray(im, np.float64)), 0, 1)
        return Image.fromarray(np.round(x * 255).astype(np.uint8))
    if im.mode == "I" or im.mode.startswith("I;16"):
        x = np.clip(np.asarray(im).astype(np.int64), 0, top)
        return Image.fromarray(((x * 255 + top // 2) // top).astype(np.uint8))
    return im
