"""``sdae dae``: train the denoising autoencoder of a config and measure how well it denoises
(paper §IV.B, §V.A), written into a run folder.

Like every ``run_*`` function, :func:`run_dae` checks the folder before the data loads and
writes ``config.json``, the figures, the weights and, last, ``metrics.json`` into a staging
folder that replaces ``out`` only when the run has finished
(:func:`sdae.io.outputs.staged_dir`). The ``write_*`` functions do the same work into a
folder that already exists (``sdae reproduce`` stages its own).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from sdae.config.checks import facts_of
from sdae.config.denoising import EVAL_CROP_VALUES, DaeConfig
from sdae.data.splits import Split
from sdae.evaluation import (
    adaptive_median_filter,
    denoising_scores,
    mean_image,
    median_filter,
    psnr,
)
from sdae.io import figures
from sdae.io.checkpoints import save_model
from sdae.io.outputs import RESULT_FILE, write_json
from sdae.nn.augment import image_shape
from sdae.nn.convnets import ConvAutoencoder
from sdae.nn.crops import fixed_crops, random_crops
from sdae.nn.models import Autoencoder, seeded
from sdae.nn.noise import corrupt
from sdae.nn.training import reconstruction_cost, train_autoencoder
from sdae.rng import Streams
from sdae.runs.common import one_per_class, run_staged


def build_dae(config: DaeConfig) -> Autoencoder | ConvAutoencoder:
    """The untrained DAE of ``config``: the paper's MLP, or the conv model."""
    with seeded(config.seed):
        if config.model == "conv":
            shape = image_shape(config.input_shape)  # the patch's, with --patch-size
            return ConvAutoencoder(config.width, config.passthrough, shape, config.prefill)
        return Autoencoder(facts_of(config).n_features, config.hidden, config.tied)


def train_dae(config: DaeConfig, train: Split, *, progress: bool = False):
    """Build and train the DAE of ``config`` on ``train.pool: [N, D]`` (the images, and the
    source's unlabelled ones; with ``patch_size``, random crops of them from the stream
    ``train-crops``).

    Returns ``(model in eval mode, cost history, training seconds)``.
    """
    model = build_dae(config)
    model.to(config.device)
    rng = Streams(config.seed, "train-", config.device)
    crops = None
    if config.patch_size:
        crops = random_crops(facts_of(config).image_shape, config.patch_size,
                             rng.generator("crops"))  # fmt: skip
    patch = f" on {config.patch_size}px crops" if config.patch_size else ""
    start = time.perf_counter()
    history = train_autoencoder(
        model, train.pool, config.train, rng, progress=progress, transform=crops,
        desc=f"{'conv ' if config.model == 'conv' else ''}DAE noise {config.train.noise_text}"
        f"{patch}",
    )  # fmt: skip
    return model.eval(), history, time.perf_counter() - start


def scored_images(config: DaeConfig, train: Split, test: Split) -> tuple[Split, torch.Tensor]:
    """What a DAE is scored on, and the training mean image of that shape: the test images
    and ``mean_image(train.x)``; with ``patch_size``, one crop of each of a bounded number of
    test images (:data:`EVAL_CROP_VALUES`, evenly spaced through the split; positions from
    the stream ``test-crops``) and the mean of as many crops of the training images."""
    if not config.patch_size:
        return test, mean_image(train.x)
    gen = Streams(config.seed, device=config.device).generator("test-crops")
    shape, p = facts_of(config).image_shape, config.patch_size
    index, x = fixed_crops(test.x, shape, p, EVAL_CROP_VALUES, gen)
    index = index.to(test.y.device)
    crops = Split(x, test.y[index], test.index[index.cpu().numpy()])
    return crops, mean_image(fixed_crops(train.x, shape, p, EVAL_CROP_VALUES, gen)[1])


def evaluate_dae(model: Autoencoder, config: DaeConfig, train: Split, test: Split,
                 test_noise: float, *,
                 train_mean: torch.Tensor | None = None) -> tuple[dict[str, float], torch.Tensor,
                                                                   torch.Tensor]:  # fmt: skip
    """Corrupt the test images at ``test_noise`` (seeded), denoise them, and score (against
    ``train_mean``, by default ``mean_image(train.x)``; images of ``config.input_shape``).

    Returns ``(metrics, noisy [N, D], denoised [N, D])``.
    """
    noisy = corrupt(test.x, config.noise, test_noise,
                    Streams(config.seed, device=config.device).generator("test-noise"))
    test_cost, denoised = denoise(model, noisy, test.x)
    mean = mean_image(train.x) if train_mean is None else train_mean
    scores = denoising_scores(test.x, noisy, denoised, mean, config.input_shape)
    return {"test_cost": test_cost, **scores}, noisy, denoised


#: the test values :func:`psnr_by_level` scores at each level (600 Fashion-MNIST images fit)
BY_LEVEL_VALUES = 2**19
#: levels :func:`psnr_by_level` scores, evenly spread over the training range
BY_LEVEL_COUNT = 5


def range_levels(low: float, high: float, count: int = BY_LEVEL_COUNT) -> list[float]:
    """``count`` levels evenly spread from ``low`` to ``high``, rounded to 4 decimals."""
    return [round(low + (high - low) * i / (count - 1), 4) for i in range(count)]


def psnr_by_level(model, config: DaeConfig, test: Split,
                  shape: tuple[int, ...]) -> dict[str, dict[str, float]]:  # fmt: skip
    """PSNR of the denoised, 3x3-median and adaptive-median images at levels spread over the
    training range (:func:`range_levels`), each on the same test images (at most
    :data:`BY_LEVEL_VALUES` values of them, evenly spaced through ``test``) corrupted from the
    stream ``test-noise``: ``{level: {psnr_denoised, psnr_median, psnr_adaptive_median}}``."""
    n = max(1, min(len(test), BY_LEVEL_VALUES // max(1, test.x.shape[1])))
    clean = test.x[torch.linspace(0, len(test) - 1, n).round().long().unique()]
    out = {}
    for level in range_levels(*config.train.noise_range):
        gen = Streams(config.seed, device=config.device).generator("test-noise")
        noisy = corrupt(clean, config.noise, level, gen)
        _, denoised = denoise(model, noisy)
        out[str(level)] = {
            "psnr_denoised": psnr(clean, denoised, shape),
            "psnr_median": psnr(clean, median_filter(noisy, shape=shape), shape),
            "psnr_adaptive_median": psnr(clean, adaptive_median_filter(noisy, shape=shape),
                                         shape),
        }  # fmt: skip
    return out


def denoise(model, noisy: torch.Tensor, clean: torch.Tensor | None = None, batch: int = 1000):
    """``model``'s reconstruction of ``noisy: [N, 784]``, in batches (a U-Net's activations
    for 10,000 images would take gigabytes). Returns ``(cost against clean or None, [N, 784])``.
    """
    model.eval()
    parts, cost = [], 0.0
    with torch.no_grad():
        for i in range(0, len(noisy), batch):
            xb = noisy[i : i + batch]
            if clean is not None:
                cost += float(reconstruction_cost(model(xb), clean[i : i + batch])) * len(xb)
            parts.append(model.reconstruct(xb))
    out = torch.cat(parts) if parts else noisy.clone()
    return (cost / max(len(noisy), 1) if clean is not None else None), out


def reconstruction_figure(path, test: Split, noisy, denoised, title: str,
                          shape: tuple[int, int] = (28, 28)) -> Path:  # fmt: skip
    """Rows original / noisy / denoised, one test image per class (Figs 6, 8, 10, 11), of
    grey images of ``shape``."""
    cols = one_per_class(test.y)
    return figures.image_rows(
        path, {"original": test.x[cols].cpu(), "noisy": noisy[cols].cpu(),
               "denoised": denoised[cols].cpu()}, title, shape=shape,
    )  # fmt: skip


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
    return run_staged(config, out, write_dae, data_dir=data_dir, progress=progress,
                      overwrite=overwrite, download=download)


def write_dae(config: DaeConfig, out: Path, train: Split, test: Split, *,
              progress: bool = False) -> dict[str, Any]:
    """The work of :func:`run_dae`, into the existing folder ``out``."""
    write_json(out / "config.json", config)
    model, history, seconds = train_dae(config, train, progress=progress)
    scored, train_mean = scored_images(config, train, test)
    scores, noisy, denoised = evaluate_dae(model, config, train, scored, config.test_noise,
                                           train_mean=train_mean)  # fmt: skip
    extra = {} if not config.patch_size else {"test_crops": len(scored)}
    if config.train.noise_range is not None:
        extra["psnr_by_level"] = psnr_by_level(model, config, scored, config.input_shape)
    metrics = {
        "final_cost": history[-1], **scores, "train_seconds": seconds,
        "precision": history.precision,
        "n_train": len(train), "n_test": len(test), **extra, "cost_history": history,
    }  # fmt: skip
    title = f"train noise {config.train.noise_text}"
    figures.cost_curve(out / "cost.png", {"cost": history}, f"DAE training cost, {title}")
    reconstruction_figure(out / "reconstructions.png", scored, noisy, denoised,
                          f"{title}, test noise {config.test_noise} ({config.noise})",
                          config.input_shape)
    save_model(out / "model.safetensors", model, config)
    write_json(out / RESULT_FILE, metrics)
    return metrics
