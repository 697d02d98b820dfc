"""Validation scores of a photo denoiser (what the shipped model's recipe was chosen on; never
the photographs of ``photo_goal.py``): its PSNR minus the adaptive median's on 300 held-out
patches of each kind of ``--data denoise-mix`` (the mix's test split: patches of the training
photographs, dead leaves, Fashion-MNIST mosaics) at impulse densities 0.1, 0.3, 0.5, 0.7
(noise from ``torch.Generator().manual_seed(1)``, output rounded to 8 bits), and its PSNR on
every tenth image of the paper protocol's Fashion-MNIST *training* split at salt-and-pepper
p = 0.1 and 0.3.

    python benchmarks/photo_validation.py RUN_DIR      # an `sdae dae` run folder
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from sdae.data.denoise_mix import CLASSES, build_denoise_mix
from sdae.data.fashion_mnist import load_fashion_mnist
from sdae.data.splits import load_splits
from sdae.evaluation import adaptive_median_filter, median_filter, psnr
from sdae.nn.noise import corrupt
from sdae.nn.tiling import denoise_images
from sdae.runs.denoise import load_denoiser

DENSITIES = (0.1, 0.3, 0.5, 0.7)
SHAPE = (64, 64)


def _denoised(model, noisy: torch.Tensor, side: int) -> torch.Tensor:
    out = denoise_images(model, noisy.numpy().reshape(-1, side, side))
    return torch.round(torch.from_numpy(out.reshape(len(noisy), -1)) * 255) / 255


def main(run_dir: str) -> int:
    model = load_denoiser(run_dir)[0]
    fashion = load_fashion_mnist()
    _, _, x_test, y_test = build_denoise_mix(0, lambda: fashion.train_images)
    for k, kind in enumerate(CLASSES):
        x = torch.from_numpy(x_test[y_test == k][:300].reshape(-1, 4096).astype(np.float32) / 255)
        cells = []
        for d in DENSITIES:
            noisy = corrupt(x, "impulse", d, torch.Generator().manual_seed(1))
            base = psnr(x, adaptive_median_filter(noisy, shape=SHAPE), SHAPE)
            cells.append(f"{d}: {psnr(x, _denoised(model, noisy, 64), SHAPE) - base:+.2f}")
        print(f"{kind:<12} margin over the adaptive median  " + "  ".join(cells))
    x = load_splits("paper", 0, "cpu")[0].x[::10]
    for p in (0.1, 0.3):
        noisy = corrupt(x, "salt-and-pepper", p, torch.Generator().manual_seed(1))
        print(f"fashion-train p={p}: sdae {psnr(x, _denoised(model, noisy, 28)):.2f}  "
              f"3x3 median {psnr(x, median_filter(noisy)):.2f}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
