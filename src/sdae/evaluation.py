"""Measuring results: PSNR and SSIM of denoised images, the median-filter remedies, accuracy.

Images come as ``[N, D]`` arrays in [0, 1] of images of ``shape``: ``(H, W)`` grey
(Fashion-MNIST's 28x28 by default) or ``(H, W, C)`` colour, channels last (``D = H W C``).
Every image score is the mean over images of the per-image score against the clean image
(scikit-image's implementations, data range 1; SSIM of a colour image is the mean of its
channels'); the median filters work on each channel alone.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from sklearn.metrics import confusion_matrix as _confusion

from sdae.data.fashion_mnist import IMAGE_SHAPE

_PSNR_CAP_DB = 100.0  # an exact reconstruction has infinite PSNR: cap it to stay averageable


Shape = tuple[int, ...]


def _images(x: torch.Tensor | np.ndarray, shape: Shape = IMAGE_SHAPE) -> np.ndarray:
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    return arr.reshape(-1, *shape).astype(np.float64)


def psnr(clean: torch.Tensor | np.ndarray, other: torch.Tensor | np.ndarray,
         shape: Shape = IMAGE_SHAPE) -> float:  # fmt: skip
    """Mean over images (``shape``: H x W, 28x28 by default) of PSNR(clean_i, other_i) in dB
    (each image capped at 100 dB)."""
    a, b = _images(clean, shape), _images(other, shape)
    with np.errstate(divide="ignore"):
        scores = [peak_signal_noise_ratio(u, v, data_range=1.0) for u, v in zip(a, b)]
    return float(np.mean(np.minimum(scores, _PSNR_CAP_DB)))


def ssim(clean: torch.Tensor | np.ndarray, other: torch.Tensor | np.ndarray,
         shape: Shape = IMAGE_SHAPE) -> float:  # fmt: skip
    """Mean over images of SSIM(clean_i, other_i) (7x7 window, or the largest odd window an
    image smaller than 7x7 holds; data range 1)."""
    a, b = _images(clean, shape), _images(other, shape)
    win = min(7, *(s - (1 - s % 2) for s in shape[:2]))
    axis = -1 if len(shape) == 3 else None
    return float(np.mean([structural_similarity(u, v, data_range=1.0, win_size=win,
                                                channel_axis=axis)
                          for u, v in zip(a, b)]))  # fmt: skip


def median_filter(noisy: torch.Tensor | np.ndarray, size: int = 3,
                  shape: Shape = IMAGE_SHAPE) -> np.ndarray:  # fmt: skip
    """The classical remedy for salt-and-pepper noise: a ``size`` x ``size`` median filter
    on each image of ``shape`` (28x28; edges reflected). ``[N, H*W]`` -> ``[N, H*W]``."""
    imgs = _images(noisy, shape)
    window = (1, size, size, *(1,) * (len(shape) - 2))  # never across channels
    return ndimage.median_filter(imgs, size=window, mode="reflect").reshape(len(imgs), -1)


_ADAPTIVE_CHUNK = 1024  # images per chunk: bounds the [pixels, window] temporaries (~40 MB)


def adaptive_median_filter(noisy: torch.Tensor | np.ndarray, max_size: int = 7,
                           shape: Shape = IMAGE_SHAPE) -> np.ndarray:  # fmt: skip
    """Switching (adaptive) median filter for impulse noise, in the style of Hwang & Haddad's
    (1995) adaptive median: ``[N, 784]`` in [0, 1] -> ``[N, 784]`` float64.

    Only *suspect* pixels, whose value is exactly 0 (maybe pepper) or exactly 1 (maybe salt),
    are replaced; every other pixel is returned unchanged. A suspect pixel takes the median of
    the non-suspect pixels in the smallest window centred on it (3x3, then 5x5, ... up to
    ``max_size`` x ``max_size``, odd) that holds at least one. Windows are clipped at the
    image border: only real pixels count, nothing is reflected or padded in. If even the
    ``max_size`` window holds no non-suspect pixel, the pixel takes the plain median of all
    the (suspect) pixels in that window. Medians follow ``np.median``: for an even count, the
    mean of the two middle values (so 0 and 1 in equal numbers give 0.5).

    What it cannot know: a truly black (0) or white (1) pixel of the clean image looks exactly
    like pepper or salt, so it is replaced too. Fashion-MNIST's black background is mostly
    surrounded by black, itself suspect, so such pixels take the median of the nearest
    non-suspect pixels, or the fallback. Noise that does not set pixels to exactly 0 or 1
    (Gaussian noise, impulses blurred by JPEG compression) is left untouched.
    """
    if max_size < 3 or max_size % 2 == 0:
        raise ValueError(f"max_size must be an odd integer >= 3, got {max_size}")
    imgs = _images(noisy, shape)
    n = len(imgs)
    if len(shape) == 3:  # each channel alone: [N, H, W, C] -> [N C, H, W]
        imgs = np.ascontiguousarray(imgs.transpose(0, 3, 1, 2)).reshape(-1, *shape[:2])
    out = np.empty_like(imgs)
    for i in range(0, len(imgs), _ADAPTIVE_CHUNK):
        out[i : i + _ADAPTIVE_CHUNK] = _adaptive_chunk(imgs[i : i + _ADAPTIVE_CHUNK], max_size // 2)
    if len(shape) == 3:
        out = out.reshape(n, shape[2], *shape[:2]).transpose(0, 2, 3, 1)
    return out.reshape(n, int(np.prod(shape)))


def _adaptive_chunk(imgs: np.ndarray, r: int) -> np.ndarray:
    """``adaptive_median_filter`` on ``imgs: [n, 28, 28]`` with largest window half-width
    ``r``; returns a new ``[n, 28, 28]``. Windows are gathered only for the suspect pixels
    whose window at that size holds a non-suspect pixel (counted first by box sums)."""
    suspect = (imgs == 0) | (imgs == 1)
    trusted = np.where(suspect, np.nan, imgs)  # NaN: suspect, or (once padded) off the image
    trusted = np.pad(trusted, ((0, 0), (r, r), (r, r)), constant_values=np.nan)
    out, pending = imgs.copy(), suspect.copy()
    for half in range(1, r + 1):
        n, i, j = np.nonzero(pending & (_box_count(~suspect, half) > 0))
        out[n, i, j] = _nan_window_median(trusted, n, i + r, j + r, half)
        pending[n, i, j] = False
    out[pending] = _binary_median(imgs == 1, r)[pending]  # those windows hold only 0s and 1s
    return out


def _box_count(mask: np.ndarray, half: int) -> np.ndarray:
    """How many pixels of ``mask: [n, H, W]`` are True in the ``2 half + 1`` square window
    around each pixel, clipped at the border: ``[n, H, W]`` int."""
    ones = np.ones(2 * half + 1, dtype=np.int32)
    rows = ndimage.correlate1d(mask.astype(np.int32), ones, axis=1, mode="constant")
    return ndimage.correlate1d(rows, ones, axis=2, mode="constant")


def _binary_median(ones: np.ndarray, half: int) -> np.ndarray:
    """``np.median`` over the clipped ``2 half + 1`` window of each pixel of an image made of
    0s and 1s, given ``ones: [n, H, W]`` (where the 1s are): 1, 0, or 0.5 on a tie."""
    n_ones, n_all = _box_count(ones, half), _box_count(np.ones_like(ones[:1]), half)
    return np.where(2 * n_ones > n_all, 1.0, np.where(2 * n_ones < n_all, 0.0, 0.5))


def _nan_window_median(padded: np.ndarray, n, i, j, half: int) -> np.ndarray:
    """``[M]`` medians of the non-NaN values (at least one each) in the ``2 half + 1`` square
    window of ``padded: [n, H, W]`` centred on each ``(n[k], i[k], j[k])``."""
    _, rows, cols = padded.shape
    d = np.arange(-half, half + 1)
    offsets = (d[:, None] * cols + d).ravel()  # flat index steps across the window
    centres = (n * rows + i) * cols + j
    values = np.sort(padded.take(centres[:, None] + offsets), axis=1)  # NaN last
    count = np.count_nonzero(~np.isnan(values), axis=1)
    lo = np.take_along_axis(values, ((count - 1) // 2)[:, None], axis=1)
    hi = np.take_along_axis(values, (count // 2)[:, None], axis=1)
    return (lo[:, 0] + hi[:, 0]) / 2


def mean_image(train: torch.Tensor) -> torch.Tensor:
    """The training set's mean image ``[784]``: the best constant guess, and so the output of
    any denoiser whose input carries no information."""
    return train.mean(dim=0)


def denoising_scores(clean: torch.Tensor, noisy: torch.Tensor, denoised: torch.Tensor,
                     train_mean: torch.Tensor, shape: Shape = IMAGE_SHAPE) -> dict[str, float]:
    """PSNR and SSIM of the noisy, denoised, median-filtered (3x3) and adaptive-median-filtered
    images and of the training mean image, all against ``clean: [N, H*W]`` (images of
    ``shape``, 28x28 by default)."""
    median = median_filter(noisy, shape=shape)
    adaptive = adaptive_median_filter(noisy, shape=shape)
    constant = train_mean.expand_as(clean)
    scores = {}
    for measure, fn in (("psnr", psnr), ("ssim", ssim)):
        for name, images in (("noisy", noisy), ("denoised", denoised), ("median", median),
                             ("adaptive_median", adaptive), ("mean_image", constant)):
            scores[f"{measure}_{name}"] = fn(clean, images, shape)
    return scores


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, batch: int = 4096) -> torch.Tensor:
    """Class indices ``[N]`` of ``x: [N, 784]``, in evaluation mode, in chunks."""
    was_training = model.training
    model.eval()
    out = torch.cat([model(x[i : i + batch]).argmax(dim=1) for i in range(0, len(x), batch)])
    model.train(was_training)
    return out


def accuracy(predicted: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray) -> float:
    """Fraction of correct predictions, in [0, 1]."""
    p = np.asarray(predicted.cpu() if isinstance(predicted, torch.Tensor) else predicted)
    y = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
    return float((p == y).mean())


def confusion_matrix(predicted, labels, n_classes: int = 10) -> np.ndarray:
    """``[n_classes, n_classes]`` counts, rows true class, columns predicted class."""
    p = np.asarray(predicted.cpu() if isinstance(predicted, torch.Tensor) else predicted)
    y = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
    return _confusion(y, p, labels=list(range(n_classes)))
