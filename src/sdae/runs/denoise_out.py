"""What ``sdae denoise`` writes for each file (:func:`write_outputs`: the input's size, mode,
bit depth, alpha, or the array's shape and dtype) and its contact sheet (:func:`write_sheet`,
with the scores of :mod:`sdae.runs.references` in the column titles)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from sdae.data.images import ImageInfo
from sdae.io import figures
from sdae.io.outputs import atomic_write

SHEET_COLUMNS = 16  # images on the sheet, at most
DISPLAY = 320  # pixels: the longest side of an image on the sheet (display only)
GRID_COLUMNS = 16  # an array's PNG grid: images per row, at least


def write_outputs(folder: Path, name: str, info: ImageInfo, denoised: np.ndarray,
                  noisy: np.ndarray | None = None) -> list[str]:  # fmt: skip
    """Write one file's results (``[N, H, W]`` or ``[1, H, W, 3]`` in [0, 1]) as the input
    was: a PNG of its size, mode and bit depth (its alpha copied), or an array of its shape
    and dtype plus a PNG grid; ``noisy`` as ``<name>-noisy.png``. Returns the names."""
    written = []
    if info.kind == "npy":
        arr = _to_bits(denoised, "uint8") if info.dtype == "uint8" else denoised
        written.append(_save_npy(folder / f"{name}.npy", arr.reshape(info.shape)))
    written.append(_save_png(folder / f"{name}.png", _picture(denoised, info)))
    if noisy is not None:
        written.append(_save_png(folder / f"{name}-noisy.png", _picture(noisy, info)))
    return written


def _picture(images: np.ndarray, info: ImageInfo) -> np.ndarray:
    """``images`` as one integer picture: the input's size, depth and alpha, or a grid."""
    if info.kind == "image":
        bits = _to_bits(images[0], info.dtype)
        return bits if info.alpha is None else np.dstack([bits, info.alpha])
    n, h, w = images.shape
    cols = min(n, max(GRID_COLUMNS, math.ceil(math.sqrt(n))))
    grid = np.zeros((math.ceil(n / cols) * cols, h, w), np.float32)
    grid[:n] = images
    grid = grid.reshape(-1, cols, h, w).transpose(0, 2, 1, 3).reshape(-1, cols * w)
    return _to_bits(grid, "uint8")


def _to_bits(x: np.ndarray, dtype: str) -> np.ndarray:
    top = np.iinfo(dtype).max
    return np.clip(np.round(x * top), 0, top).astype(dtype)


def _save_png(path: Path, picture: np.ndarray) -> str:
    atomic_write(path, lambda tmp: Image.fromarray(picture).save(tmp, format="PNG"))
    return path.name


def _save_npy(path: Path, arr: np.ndarray) -> str:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.save would add ".npy" to a name
            np.save(f, arr, allow_pickle=False)

    atomic_write(path, write)
    return path.name


def thumbnail(image: np.ndarray) -> np.ndarray:
    """``image`` (``[H, W]`` or ``[H, W, 3]`` in [0, 1]) with its longest side at most
    :data:`DISPLAY` pixels (area average), for the sheet only."""
    h, w = image.shape[:2]
    if max(h, w) <= DISPLAY:
        return image
    size = (max(1, round(w * DISPLAY / max(h, w))), max(1, round(h * DISPLAY / max(h, w))))
    planes = image[..., None] if image.ndim == 2 else image
    small = [np.asarray(Image.fromarray(np.ascontiguousarray(planes[..., k], np.float32))
                        .resize(size, Image.Resampling.BOX)) for k in range(planes.shape[2])]
    return small[0] if image.ndim == 2 else np.dstack(small)  # fmt: skip


def column_title(name: str, scores: dict | None) -> str:
    """A sheet column's title: the image's name, and with scores the PSNR of sdae and of
    the better median filter."""
    name = name if len(name) <= 18 else name[:17] + "…"
    if not scores:
        return name
    psnr = scores["psnr"]
    best = max(("median", "adaptive_median"), key=lambda k: psnr[k])
    label = "median" if best == "median" else "adapt. median"
    return f"{name}\nsdae {psnr['sdae']:.1f} dB\n{label} {psnr[best]:.1f} dB"


def write_sheet(path: Path, columns: list, title: str) -> str:
    """The contact sheet of ``columns`` (``(title, {row: image})``, at most
    :data:`SHEET_COLUMNS`); returns the file's name."""
    figures.image_sheet(path, columns[:SHEET_COLUMNS], title)
    return path.name
