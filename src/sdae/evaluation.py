"""Measuring results: PSNR and SSIM of denoised images, the median-filter remedy, accuracy.

Images come as ``[N, 784]`` arrays in [0, 1]; every image score is the mean over images of the
per-image score against the clean image (scikit-image's implementations, data range 1).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from sklearn.metrics import confusion_matrix as _confusion

from sdae.data import IMAGE_SHAPE

_PSNR_CAP_DB = 100.0  # an exact reconstruction has infinite PSNR: cap it to stay averageable


def _images(x: torch.Tensor | np.ndarray) -> np.ndarray:
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    return arr.reshape(-1, *IMAGE_SHAPE).astype(np.float64)


def psnr(clean: torch.Tensor | np.ndarray, other: torch.Tensor | np.ndarray) -> float:
    """Mean over images of PSNR(clean_i, other_i) in dB (each image capped at 100 dB)."""
    a, b = _images(clean), _images(other)
    with np.errstate(divide="ignore"):
        scores = [peak_signal_noise_ratio(u, v, data_range=1.0) for u, v in zip(a, b)]
    return float(np.mean(np.minimum(scores, _PSNR_CAP_DB)))


def ssim(clean: torch.Tensor | np.ndarray, other: torch.Tensor | np.ndarray) -> float:
    """Mean over images of SSIM(clean_i, other_i) (7x7 window, data range 1)."""
    a, b = _images(clean), _images(other)
    return float(np.mean([structural_similarity(u, v, data_range=1.0) for u, v in zip(a, b)]))


def median_filter(noisy: torch.Tensor | np.ndarray, size: int = 3) -> np.ndarray:
    """The classical remedy for salt-and-pepper noise: a ``size`` x ``size`` median filter
    on each 28x28 image (edges reflected). ``[N, 784]`` -> ``[N, 784]``."""
    imgs = _images(noisy)
    return ndimage.median_filter(imgs, size=(1, size, size), mode="reflect").reshape(len(imgs), -1)


def mean_image(train: torch.Tensor) -> torch.Tensor:
    """The training set's mean image ``[784]``: the best constant guess, and so the output of
    any denoiser whose input carries no information."""
    return train.mean(dim=0)


def denoising_scores(
    clean: torch.Tensor, noisy: torch.Tensor, denoised: torch.Tensor, train_mean: torch.Tensor
) -> dict[str, float]:
    """PSNR and SSIM of the noisy, denoised and median-filtered images, and the PSNR of the
    training mean image, all against ``clean: [N, 784]``."""
    median = median_filter(noisy)
    constant = train_mean.expand_as(clean)
    return {
        "psnr_noisy": psnr(clean, noisy),
        "psnr_denoised": psnr(clean, denoised),
        "psnr_median": psnr(clean, median),
        "psnr_mean_image": psnr(clean, constant),
        "ssim_noisy": ssim(clean, noisy),
        "ssim_denoised": ssim(clean, denoised),
        "ssim_median": ssim(clean, median),
        "ssim_mean_image": ssim(clean, constant),
    }


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
