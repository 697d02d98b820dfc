"""The classical references beside ``sdae denoise``'s result: PSNR and SSIM of the noisy
input, a 3x3 median filter, the adaptive (switching) median filter and sdae's output, each
against the clean image, at full size: :func:`reference_scores`.

The scores are those of :mod:`sdae.evaluation` (scikit-image's, data range 1; SSIM with a 7x7
window, on each channel of a colour image and averaged; PSNR capped at 100 dB) and so are the
filters (each channel alone; the median's edges reflected, the adaptive median's windows
clipped), but computed strip by strip: rows of at most :data:`STRIP_PIXELS` pixels, each with
:data:`HALO` rows of its neighbours, so that a 6000x4000 photograph takes a few hundred MB
instead of several GB (measured: scikit-image's SSIM of a whole 24 MP image alone peaks at
3.2 GB). Every strip's filters and SSIM map are exact on its own rows; the halo covers the
adaptive median's 7x7 window (3 rows) plus SSIM's (3 rows). Arrays stay float32 (as
scikit-image computes for float32 images).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage
from skimage.metrics import structural_similarity

from sdae.evaluation import adaptive_median_filter

STRIP_PIXELS = 1 << 21  # ~2 MP per strip: SSIM's temporaries then take ~150 MB
HALO = 8  # rows: >= 3 (adaptive median, 7x7) + 3 (SSIM's 7x7 window)
PSNR_CAP_DB = 100.0  # as sdae.evaluation: an exact copy scores 100, not infinity
NAMES = ("noisy", "median", "adaptive_median", "sdae")


def reference_scores(clean: np.ndarray, noisy: np.ndarray, denoised: np.ndarray
                     ) -> dict[str, dict[str, float]]:  # fmt: skip
    """``clean``, ``noisy`` (the model's input) and ``denoised`` (its output): one image each,
    float ``[H, W]`` or ``[H, W, C]`` in [0, 1]. Returns ``{"psnr": {name: dB}, "ssim":
    {name: value}}`` for the names ``noisy``, ``median`` (3x3), ``adaptive_median`` (up to 7x7)
    and ``sdae``."""
    if not clean.shape == noisy.shape == denoised.shape or clean.ndim not in (2, 3):
        raise ValueError(f"expected three [H, W] or [H, W, C] images of one shape, got "
                         f"{clean.shape}, {noisy.shape}, {denoised.shape}")  # fmt: skip
    h, w = clean.shape[:2]
    win = min(7, *(s - (1 - s % 2) for s in (h, w)))  # sdae.evaluation.ssim's window
    pad = (win - 1) // 2
    rows = max(1, STRIP_PIXELS // (w * (clean.size // (h * w))))
    sse = dict.fromkeys(NAMES, 0.0)
    s_sum = dict.fromkeys(NAMES, 0.0)
    for r0 in range(0, h, rows):
        r1 = min(r0 + rows, h)
        a, b = max(r0 - HALO, 0), min(r1 + HALO, h)
        strip = _strip(clean[a:b], noisy[a:b], denoised[a:b])
        keep = slice(r0 - a, r1 - a)  # this strip's own rows ...
        inner = slice(max(r0, pad) - a, min(r1, h - pad) - a)  # ... and those SSIM averages
        ref = strip.pop("clean")
        for name, img in strip.items():
            sse[name] += float(np.sum((img[keep] - ref[keep]).astype(np.float64) ** 2))
            if inner.stop > inner.start:
                s_map = _ssim_map(ref, img, win)
                s_sum[name] += float(np.sum(s_map[inner, pad : w - pad], dtype=np.float64))
    count = max(h - 2 * pad, 0) * max(w - 2 * pad, 0)  # the channels are averaged already
    return {"psnr": {k: _psnr(v / clean.size) for k, v in sse.items()},
            "ssim": {k: v / count if count else math.nan for k, v in s_sum.items()}}  # fmt: skip


def _strip(clean, noisy, denoised) -> dict[str, np.ndarray]:
    """One strip's clean, noisy, filtered and denoised rows, float32."""
    noisy = np.asarray(noisy, np.float32)
    size = (3, 3, 1)[: noisy.ndim]  # never across channels
    adaptive = adaptive_median_filter(noisy.reshape(1, -1), shape=noisy.shape)
    return {"clean": np.asarray(clean, np.float32), "noisy": noisy,
            "median": ndimage.median_filter(noisy, size=size, mode="reflect"),
            "adaptive_median": adaptive.reshape(noisy.shape).astype(np.float32),
            "sdae": np.asarray(denoised, np.float32)}  # fmt: skip


def _ssim_map(clean: np.ndarray, other: np.ndarray, win: int) -> np.ndarray:
    """scikit-image's SSIM map ``[h, w]`` (a colour image's channels averaged, as its mean
    does)."""
    axis = -1 if clean.ndim == 3 else None
    _, s_map = structural_similarity(clean, other, data_range=1.0, win_size=win,
                                     channel_axis=axis, full=True)  # fmt: skip
    return s_map.mean(axis=-1) if clean.ndim == 3 else s_map


def _psnr(mse: float) -> float:
    return PSNR_CAP_DB if mse <= 0 else min(PSNR_CAP_DB, float(10 * np.log10(1.0 / mse)))
