"""Running one experiment end to end: data -> training -> evaluation -> files in a folder.

Each ``run_*`` function takes a frozen config and an output folder, and writes
``config.json``, the figures, the weights and, last, ``metrics.json`` (so a folder with a
``metrics.json`` holds a finished run). It returns the metrics dict.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sdae import figures
from sdae.checkpoints import save_model
from sdae.config import DaeConfig, generator
from sdae.data import N_CLASSES, N_PIXELS, load_fashion_mnist, protocol_splits
from sdae.errors import SdaeError
from sdae.evaluation import denoising_scores, mean_image
from sdae.models import Autoencoder, seeded
from sdae.noise import corrupt
from sdae.outputs import write_json
from sdae.training import reconstruction_cost, train_autoencoder

RESULT_FILE = "metrics.json"


def prepare_out_dir(out: str | Path, overwrite: bool = False) -> Path:
    """Refuse to overwrite a finished run unless asked: results are never silently lost."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SdaeError(f"--out {out} is a file; give a folder")
    if (out / RESULT_FILE).exists() and not overwrite:
        raise SdaeError(f"{out} already holds a finished run; pass --overwrite or another --out")
    return out


def load_splits(protocol: str, data_seed: int, device: str, data_dir=None, download=True):
    data = load_fashion_mnist(data_dir, download=download)
    train, test = protocol_splits(data, protocol, data_seed)
    return train.to(device), test.to(device)


def one_per_class(labels: torch.Tensor) -> list[int]:
    """Index of the first image of each class: the columns of the reconstruction grids."""
    y = labels.cpu().numpy()
    return [int(np.flatnonzero(y == c)[0]) for c in range(N_CLASSES) if (y == c).any()]


def run_dae(
    config: DaeConfig,
    out: str | Path,
    *,
    data_dir: str | Path | None = None,
    progress: bool = False,
    overwrite: bool = False,
    download: bool = True,
) -> dict[str, Any]:
    """Train the denoising autoencoder of ``config`` and measure how well it denoises.

    Writes ``config.json``, ``cost.png`` (Figs 5/7/9), ``reconstructions.png`` (rows
    original / noisy / denoised, one test image per class, Figs 6/8/10/11),
    ``model.safetensors`` and ``metrics.json``.
    """
    out = prepare_out_dir(out, overwrite)
    train, test = load_splits(config.protocol, config.data_seed, config.device, data_dir, download)
    with seeded(config.seed):
        model = Autoencoder(N_PIXELS, config.hidden, config.tied)
    model.to(config.device)
    write_json(out / "config.json", config)

    start = time.perf_counter()
    history = train_autoencoder(
        model, train.x, config.training(), generator(config.seed, "train-noise", config.device),
        desc=f"DAE noise {config.train_noise}", progress=progress,
    )  # fmt: skip
    train_seconds = time.perf_counter() - start

    model.eval()
    noisy = corrupt(test.x, config.noise, config.test_noise,
                    generator(config.seed, "test-noise", config.device))  # fmt: skip
    with torch.no_grad():
        test_cost = float(reconstruction_cost(model(noisy), test.x))
        denoised = model.reconstruct(noisy)
    metrics = {
        "final_cost": history[-1],
        "test_cost": test_cost,
        **denoising_scores(test.x, noisy, denoised, mean_image(train.x)),
        "train_seconds": train_seconds,
        "n_train": len(train),
        "n_test": len(test),
        "cost_history": history,
    }

    title = f"train noise {config.train_noise}"
    figures.cost_curve(out / "cost.png", {"cost": history}, f"DAE training cost, {title}")
    cols = one_per_class(test.y)
    figures.image_rows(
        out / "reconstructions.png",
        {"original": test.x[cols].cpu(), "noisy": noisy[cols].cpu(),
         "denoised": denoised[cols].cpu()},
        f"{title}, test noise {config.test_noise} ({config.noise})",
    )  # fmt: skip
    save_model(out / "model.safetensors", model, config)
    write_json(out / RESULT_FILE, metrics)
    return metrics
