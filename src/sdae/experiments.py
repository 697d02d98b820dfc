"""Running one experiment end to end: data -> training -> evaluation -> files in a folder.

Each ``run_*`` function takes a frozen config and an output folder, checks the folder before
the data loads, and writes ``config.json``, the figures, the weights and, last,
``metrics.json`` into a staging folder that replaces ``out`` only when the run has finished
(:func:`sdae.outputs.staged_dir`). It returns the metrics dict. The ``write_*`` functions do
the same work into a folder that already exists (``sdae reproduce`` stages its own).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sdae import baselines, figures
from sdae.checkpoints import save_model
from sdae.config import BaselineConfig, DaeConfig, SaeConfig, labels_text
from sdae.data import (
    CLASS_NAMES,
    N_CLASSES,
    N_PIXELS,
    Split,
    load_fashion_mnist,
    protocol_splits,
    stratified_indices,
)
from sdae.errors import SdaeError
from sdae.evaluation import accuracy, confusion_matrix, denoising_scores, mean_image, predict
from sdae.models import (
    Autoencoder,
    ConvAutoencoder,
    StackedAutoencoder,
    StackedClassifier,
    seeded,
)
from sdae.noise import corrupt
from sdae.outputs import RESULT_FILE, check_out_dir, staged_dir, write_json
from sdae.rng import Streams
from sdae.training import finetune, pretrain_stack, reconstruction_cost, train_autoencoder


def load_splits(protocol: str, data_seed: int, device: str, data_dir=None, download=True):
    data = load_fashion_mnist(data_dir, download=download)
    train, test = protocol_splits(data, protocol, data_seed)
    return train.to(device), test.to(device)


def one_per_class(labels: torch.Tensor) -> list[int]:
    """Index of the first image of each class: the columns of the reconstruction grids."""
    y = labels.cpu().numpy()
    return [int(np.flatnonzero(y == c)[0]) for c in range(N_CLASSES) if (y == c).any()]


def build_dae(config: DaeConfig) -> Autoencoder | ConvAutoencoder:
    """The untrained DAE of ``config``: the paper's MLP, or the conv model."""
    with seeded(config.seed):
        if config.model == "conv":
            return ConvAutoencoder(config.width, config.passthrough)
        return Autoencoder(N_PIXELS, config.hidden, config.tied)


def train_dae(config: DaeConfig, train: Split, *, progress: bool = False):
    """Build and train the DAE of ``config`` on ``train.x: [N, 784]``.

    Returns ``(model in eval mode, cost history, training seconds)``.
    """
    model = build_dae(config)
    model.to(config.device)
    start = time.perf_counter()
    history = train_autoencoder(
        model, train.x, config.train, Streams(config.seed, "train-", config.device),
        desc=f"{'conv ' if config.model == 'conv' else ''}DAE noise {config.train_noise}",
        progress=progress,
    )  # fmt: skip
    return model.eval(), history, time.perf_counter() - start


def evaluate_dae(model: Autoencoder, config: DaeConfig, train: Split, test: Split,
                 test_noise: float) -> tuple[dict[str, float], torch.Tensor, torch.Tensor]:
    """Corrupt the test images at ``test_noise`` (seeded), denoise them, and score.

    Returns ``(metrics, noisy [N, 784], denoised [N, 784])``.
    """
    noisy = corrupt(test.x, config.noise, test_noise,
                    Streams(config.seed, device=config.device).generator("test-noise"))
    test_cost, denoised = denoise(model, noisy, test.x)
    scores = denoising_scores(test.x, noisy, denoised, mean_image(train.x))
    return {"test_cost": test_cost, **scores}, noisy, denoised


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


def reconstruction_figure(path, test: Split, noisy, denoised, title: str) -> Path:
    """Rows original / noisy / denoised, one test image per class (Figs 6, 8, 10, 11)."""
    cols = one_per_class(test.y)
    return figures.image_rows(
        path, {"original": test.x[cols].cpu(), "noisy": noisy[cols].cpu(),
               "denoised": denoised[cols].cpu()}, title,
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
    check_out_dir(out, overwrite)
    train, test = load_splits(config.protocol, config.data_seed, config.device, data_dir, download)
    with staged_dir(out, overwrite) as folder:
        return write_dae(config, folder, train, test, progress=progress)


def write_dae(config: DaeConfig, out: Path, train: Split, test: Split, *,
              progress: bool = False) -> dict[str, Any]:
    """The work of :func:`run_dae`, into the existing folder ``out``."""
    write_json(out / "config.json", config)
    model, history, seconds = train_dae(config, train, progress=progress)
    scores, noisy, denoised = evaluate_dae(model, config, train, test, config.test_noise)
    metrics = {
        "final_cost": history[-1], **scores, "train_seconds": seconds,
        "n_train": len(train), "n_test": len(test), "cost_history": history,
    }  # fmt: skip
    title = f"train noise {config.train_noise}"
    figures.cost_curve(out / "cost.png", {"cost": history}, f"DAE training cost, {title}")
    reconstruction_figure(out / "reconstructions.png", test, noisy, denoised,
                          f"{title}, test noise {config.test_noise} ({config.noise})")
    save_model(out / "model.safetensors", model, config)
    write_json(out / RESULT_FILE, metrics)
    return metrics


def labelled_indices(pool: Split, labels_per_class: int | None, labels_seed: int) -> np.ndarray:
    """Positions in ``pool`` of the labelled images: ``labels_per_class`` of each class,
    drawn stratified by ``labels_seed`` (independent of the weights' seed), or all (None)."""
    if labels_per_class is None:
        return np.arange(len(pool))
    counts = np.bincount(pool.y.cpu().numpy(), minlength=N_CLASSES)
    if labels_per_class > counts.min():
        raise SdaeError(
            f"--labels-per-class {labels_per_class} is more than the {int(counts.min())} "
            f"images per class in the {len(pool)}-image pool; ask for fewer, or use "
            "--protocol full"
        )
    return stratified_indices(pool.y.cpu().numpy(), labels_per_class, labels_seed)


def _classification_metrics(model, train: Split, test: Split, out: Path, title: str):
    """Accuracy on the whole pool and on the test set, and the confusion matrix figure."""
    def _predict(x):
        return predict(model, x) if isinstance(model, torch.nn.Module) else model.predict(x)

    pred_train, pred_test = _predict(train.x), _predict(test.x)
    matrix = confusion_matrix(pred_test, test.y)
    figures.confusion(out / "confusion.png", matrix, CLASS_NAMES, title)
    return {
        "train_accuracy": accuracy(pred_train, train.y),
        "test_accuracy": accuracy(pred_test, test.y),
        "confusion_matrix": matrix.tolist(),
    }


def pretrain_model(config: SaeConfig, train: Split, *, progress: bool = False):
    """A :class:`StackedClassifier` of ``config.arch`` whose stack is pretrained greedily on
    the whole pool ``train.x`` (its softmax layer untrained). Returns ``(model, histories)``."""
    with seeded(config.seed):
        model = StackedClassifier(StackedAutoencoder(config.sizes, config.tied))
    model.to(config.device)
    histories = pretrain_stack(model.stack, train.x, config.pretrain,
                               Streams(config.seed, device=config.device), progress=progress)
    return model, histories


def finetune_model(model: StackedClassifier, config: SaeConfig, train: Split,
                   *, progress: bool = False) -> tuple[list[float], int]:
    """Fine-tune ``model`` on the labelled draw of ``config`` from ``train``.

    Returns ``(cost history, number of labelled images)``.
    """
    labelled = labelled_indices(train, config.labels_per_class, config.labels_seed)
    idx = torch.as_tensor(labelled, device=train.x.device)
    history = finetune(model, train.x[idx], train.y[idx], config.finetune,
                       rng=Streams(config.seed, "finetune-", config.device), progress=progress)
    return history, len(labelled)


def classification_result(model, train: Split, test: Split, out: Path, title: str,
                          *, pretrain: list[list[float]], finetune: list[float],
                          seconds: float, n_labelled: int) -> dict[str, Any]:
    """The metrics every classifier run writes (the keys of ``sdae sae``'s metrics.json)."""
    return {
        "pretrain_final_costs": [h[-1] for h in pretrain],
        "finetune_final_cost": finetune[-1] if finetune else None,
        **_classification_metrics(model, train, test, out, title),
        "train_seconds": seconds,
        "n_labelled": n_labelled,
        "n_train": len(train),
        "n_test": len(test),
        "pretrain_cost_histories": pretrain,
        "finetune_cost_history": finetune,
    }


def pretraining_figure(path, config: SaeConfig, histories) -> Path:
    """Fig. 12: each layer's pretraining cost."""
    names = [f"{a}-{b}-{a}" for a, b in zip(config.sizes[:-1], config.sizes[1:])]
    return figures.layer_costs(path, histories, names, f"Layer-wise pretraining, {config.arch}")


def run_sae(config: SaeConfig, out: str | Path, *, data_dir=None, progress: bool = False,
            overwrite: bool = False, download: bool = True) -> dict[str, Any]:
    """Greedy layer-wise pretraining on the whole pool, a softmax layer, fine-tuning on the
    labelled images (paper §IV.C, §V.B).

    Writes ``config.json``, ``layer_costs.png`` (Fig. 12), ``finetune_cost.png``,
    ``confusion.png``, ``model.safetensors`` and ``metrics.json``. ``train_accuracy`` is
    measured on the whole pool (the paper's 51.18 % cannot be the accuracy on 10 images).
    """
    check_out_dir(out, overwrite)
    train, test = load_splits(config.protocol, config.data_seed, config.device, data_dir, download)
    labelled_indices(train, config.labels_per_class, config.labels_seed)  # fail before training
    with staged_dir(out, overwrite) as folder:
        return write_sae(config, folder, train, test, progress=progress)


def write_sae(config: SaeConfig, out: Path, train: Split, test: Split, *,
              progress: bool = False) -> dict[str, Any]:
    """The work of :func:`run_sae`, into the existing folder ``out``."""
    write_json(out / "config.json", config)
    labels = labels_text(config.labels_per_class)
    start = time.perf_counter()
    model, layer_histories = pretrain_model(config, train, progress=progress)
    ft_history, n_labelled = finetune_model(model, config, train, progress=progress)
    seconds = time.perf_counter() - start
    pretraining_figure(out / "layer_costs.png", config, layer_histories)
    figures.cost_curve(out / "finetune_cost.png", {"cost": ft_history},
                       f"Fine-tuning, {labels} labels per class", log=True)
    metrics = classification_result(
        model, train, test, out, f"SAE {config.arch}, {labels} labels/class",
        pretrain=layer_histories, finetune=ft_history, seconds=seconds, n_labelled=n_labelled,
    )  # fmt: skip
    save_model(out / "model.safetensors", model, config)
    write_json(out / RESULT_FILE, metrics)
    return metrics


def _fit_baseline(config: BaselineConfig, x: torch.Tensor, y: torch.Tensor, progress: bool):
    s, seed, device = config.settings, config.seed, config.device
    if config.model == "knn":
        return baselines.fit_knn(x, y, s.k)
    if config.model == "logreg":
        return baselines.fit_logreg(x, y, s.c)
    if config.model == "mlp":
        return baselines.fit_mlp(x, y, s.sizes, s.finetune, seed=seed,
                                 rng=Streams(seed, "finetune-", device), progress=progress)
    return baselines.fit_cnn(x, y, s, seed=seed, rng=Streams(seed, "cnn-", device),
                             progress=progress)


def run_baseline(config: BaselineConfig, out: str | Path, *, data_dir=None,
                 progress: bool = False, overwrite: bool = False,
                 download: bool = True) -> dict[str, Any]:
    """A Table X baseline on the same labelled images an SAE run with the same seeds uses.

    Writes ``config.json``, ``confusion.png``, ``metrics.json`` (the SAE's keys) and, for
    the PyTorch models, ``finetune_cost.png`` and ``model.safetensors``.
    """
    check_out_dir(out, overwrite)
    train, test = load_splits(config.protocol, config.data_seed, config.device, data_dir, download)
    labelled_indices(train, config.labels_per_class, config.labels_seed)  # fail before training
    with staged_dir(out, overwrite) as folder:
        return write_baseline(config, folder, train, test, progress=progress)


def write_baseline(config: BaselineConfig, out: Path, train: Split, test: Split, *,
                   progress: bool = False) -> dict[str, Any]:
    """The work of :func:`run_baseline`, into the existing folder ``out``."""
    labelled = labelled_indices(train, config.labels_per_class, config.labels_seed)
    write_json(out / "config.json", config)
    idx = torch.as_tensor(labelled, device=train.x.device)
    start = time.perf_counter()
    model, history = _fit_baseline(config, train.x[idx], train.y[idx], progress)
    train_seconds = time.perf_counter() - start
    if history:
        figures.cost_curve(out / "finetune_cost.png", {"cost": history},
                           f"{config.model} training cost", log=True)  # fmt: skip
    metrics = classification_result(
        model, train, test, out,
        f"{config.model}, {labels_text(config.labels_per_class)} labels/class",
        pretrain=[], finetune=history, seconds=train_seconds, n_labelled=len(labelled),
    )  # fmt: skip
    if isinstance(model, torch.nn.Module):
        save_model(out / "model.safetensors", model, config)
    write_json(out / RESULT_FILE, metrics)
    return metrics
