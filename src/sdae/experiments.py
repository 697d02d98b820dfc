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

from sdae import baselines, figures
from sdae.checkpoints import save_model
from sdae.config import BaselineConfig, DaeConfig, SaeConfig, generator, parse_arch
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
from sdae.models import Autoencoder, StackedAutoencoder, StackedClassifier, seeded
from sdae.noise import corrupt
from sdae.outputs import write_json
from sdae.training import finetune, pretrain_stack, reconstruction_cost, train_autoencoder

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


def labelled_indices(pool: Split, labels_per_class: int | str, labels_seed: int) -> np.ndarray:
    """Positions in ``pool`` of the labelled images: ``labels_per_class`` of each class,
    drawn stratified by ``labels_seed`` (independent of the weights' seed), or all."""
    if labels_per_class == "all":
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


def run_sae(config: SaeConfig, out: str | Path, *, data_dir=None, progress: bool = False,
            overwrite: bool = False, download: bool = True) -> dict[str, Any]:
    """Greedy layer-wise pretraining on the whole pool, a softmax layer, fine-tuning on the
    labelled images (paper §IV.C, §V.B).

    Writes ``config.json``, ``layer_costs.png`` (Fig. 12), ``finetune_cost.png``,
    ``confusion.png``, ``model.safetensors`` and ``metrics.json``. ``train_accuracy`` is
    measured on the whole pool (the paper's 51.18 % cannot be the accuracy on 10 images).
    """
    out = prepare_out_dir(out, overwrite)
    train, test = load_splits(config.protocol, config.data_seed, config.device, data_dir, download)
    labelled = labelled_indices(train, config.labels_per_class, config.labels_seed)
    with seeded(config.seed):
        model = StackedClassifier(StackedAutoencoder(config.sizes, config.tied))
    model.to(config.device)
    write_json(out / "config.json", config)

    start = time.perf_counter()
    layer_histories = pretrain_stack(model.stack, train.x, config.schedule(),
                                     generator(config.seed, "pretrain", config.device),
                                     progress=progress)  # fmt: skip
    idx = torch.as_tensor(labelled, device=train.x.device)
    ft_history = finetune(
        model, train.x[idx], train.y[idx], lr_top=config.lr_top, lr_body=config.lr_body,
        iterations=config.finetune_iterations, optimizer=config.finetune_optimizer,
        batch_size=config.finetune_batch_size,
        generator=generator(config.seed, "finetune", config.device), progress=progress,
    )  # fmt: skip
    train_seconds = time.perf_counter() - start

    names = [f"{a}-{b}-{a}" for a, b in zip(config.sizes[:-1], config.sizes[1:])]
    figures.layer_costs(out / "layer_costs.png", layer_histories, names,
                        f"Layer-wise pretraining, {config.arch}")  # fmt: skip
    figures.cost_curve(out / "finetune_cost.png", {"cost": ft_history},
                       f"Fine-tuning, {config.labels_per_class} labels per class", log=True)
    metrics = {
        "pretrain_final_costs": [h[-1] for h in layer_histories],
        "finetune_final_cost": ft_history[-1],
        **_classification_metrics(model, train, test, out,
                                  f"SAE {config.arch}, {config.labels_per_class} labels/class"),
        "train_seconds": train_seconds,
        "n_labelled": len(labelled),
        "n_train": len(train),
        "n_test": len(test),
        "pretrain_cost_histories": layer_histories,
        "finetune_cost_history": ft_history,
    }  # fmt: skip
    save_model(out / "model.safetensors", model, config)
    write_json(out / RESULT_FILE, metrics)
    return metrics


def _fit_baseline(config: BaselineConfig, x: torch.Tensor, y: torch.Tensor, progress: bool):
    gen = generator(config.seed, "baseline", config.device)
    if config.model == "knn":
        return baselines.fit_knn(x, y, config.k)
    if config.model == "logreg":
        return baselines.fit_logreg(x, y, config.c)
    if config.model == "mlp":
        return baselines.fit_mlp(
            x, y, parse_arch(config.arch), lr_top=config.lr_top, lr_body=config.lr_body,
            iterations=config.finetune_iterations, optimizer=config.finetune_optimizer,
            seed=config.seed, generator=gen, progress=progress,
        )  # fmt: skip
    return baselines.fit_cnn(x, y, lr=config.cnn_lr, epochs=config.epochs,
                             batch_size=config.batch_size, seed=config.seed, generator=gen,
                             progress=progress)  # fmt: skip


def run_baseline(config: BaselineConfig, out: str | Path, *, data_dir=None,
                 progress: bool = False, overwrite: bool = False,
                 download: bool = True) -> dict[str, Any]:
    """A Table X baseline on the same labelled images an SAE run with the same seeds uses.

    Writes ``config.json``, ``confusion.png``, ``metrics.json`` (the SAE's keys) and, for
    the PyTorch models, ``finetune_cost.png`` and ``model.safetensors``.
    """
    out = prepare_out_dir(out, overwrite)
    train, test = load_splits(config.protocol, config.data_seed, config.device, data_dir, download)
    labelled = labelled_indices(train, config.labels_per_class, config.labels_seed)
    write_json(out / "config.json", config)
    idx = torch.as_tensor(labelled, device=train.x.device)
    start = time.perf_counter()
    model, history = _fit_baseline(config, train.x[idx], train.y[idx], progress)
    train_seconds = time.perf_counter() - start
    if history:
        figures.cost_curve(out / "finetune_cost.png", {"cost": history},
                           f"{config.model} training cost", log=True)  # fmt: skip
    metrics = {
        "pretrain_final_costs": [],
        "finetune_final_cost": history[-1] if history else None,
        **_classification_metrics(model, train, test, out,
                                  f"{config.model}, {config.labels_per_class} labels/class"),
        "train_seconds": train_seconds,
        "n_labelled": len(labelled),
        "n_train": len(train),
        "n_test": len(test),
        "finetune_cost_history": history,
    }  # fmt: skip
    if isinstance(model, torch.nn.Module):
        save_model(out / "model.safetensors", model, config)
    write_json(out / RESULT_FILE, metrics)
    return metrics
