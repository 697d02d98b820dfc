"""Baselines for Table X: KNN and logistic regression on raw pixels (scikit-learn), an MLP
of the stacked autoencoder's shape from random weights, and a CNN (PyTorch).

Each ``fit_*`` takes the labelled images ``x: [N, 784]`` and labels ``y: [N]`` and returns a
fitted model whose ``predict(x) -> [N]`` gives class indices, plus a cost history (empty for
the scikit-learn models, which report no per-iteration cost).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from sdae.config.checks import facts_of, labels_text
from sdae.config.classification import BaselineConfig, CnnSettings
from sdae.config.training import Finetuning
from sdae.data.splits import Split, labelled_indices
from sdae.io import figures
from sdae.io.checkpoints import save_model
from sdae.io.outputs import RESULT_FILE, write_json
from sdae.nn import distributed
from sdae.nn.augment import GREY28, augment, image_shape
from sdae.nn.convnets import DeepCNN, SmallCNN
from sdae.nn.models import StackedClassifier, seeded
from sdae.nn.training import (
    finetune,
    train_classifier,
)
from sdae.rng import Streams, derive_seed, streams
from sdae.runs.common import classification_result, run_staged


class SklearnModel:
    """A fitted scikit-learn classifier with the torch-tensor ``predict`` of sdae's models."""

    def __init__(self, estimator) -> None:
        self.estimator = estimator

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.estimator.predict(x.cpu().numpy())).long()


def fit_knn(x: torch.Tensor, y: torch.Tensor, k: int = 1) -> tuple[SklearnModel, list[float]]:
    """k-nearest neighbours, Euclidean distance on raw pixels (k capped at the set size)."""
    knn = KNeighborsClassifier(n_neighbors=min(k, len(y)))
    return SklearnModel(knn.fit(x.cpu().numpy(), y.cpu().numpy())), []


def fit_logreg(x: torch.Tensor, y: torch.Tensor, c: float = 1.0) -> tuple[SklearnModel, list]:
    """Multinomial logistic regression on raw pixels, L2 penalty of strength 1/c (lbfgs)."""
    model = LogisticRegression(C=c, max_iter=1000)
    return SklearnModel(model.fit(x.cpu().numpy(), y.cpu().numpy())), []


def fit_mlp(x, y, sizes, settings: Finetuning, *, seed: int, rng: Streams | int,
            progress=False, n_classes: int = 10, shape=GREY28
            ) -> tuple[StackedClassifier, list[float]]:  # fmt: skip
    """The stacked autoencoder's network from random weights (``seed``, no pretraining),
    fine-tuned exactly as :func:`sdae.nn.training.finetune` fine-tunes the pretrained one."""
    with seeded(seed):
        model = StackedClassifier(sizes, n_classes=n_classes)
    model.to(x.device)
    history = finetune(model, x, y, settings, rng=rng, progress=progress, shape=shape)
    return model, history


def make_cnn(arch: str, n_classes: int, shape) -> DeepCNN | SmallCNN:
    """The untrained CNN ``arch`` (``deep`` in channels-last memory) for images ``shape``."""
    if arch == "deep":
        return DeepCNN(n_classes, image_shape=shape).to_channels_last()
    return SmallCNN(n_classes, image_shape=shape)


def cnn_model(config: BaselineConfig) -> DeepCNN | SmallCNN:
    """The untrained CNN of a ``cnn`` baseline ``config``."""
    facts = facts_of(config)
    return make_cnn(config.settings.arch, facts.n_classes, image_shape(facts.image_shape))


def fit_cnn(x, y, settings: CnnSettings, *, seed: int, rng: Streams | int, progress=False,
            n_classes: int = 10, shape=GREY28
            ) -> tuple[DeepCNN | SmallCNN, list[float]]:  # fmt: skip
    """The CNN of ``settings`` for ``n_classes`` classes and images of ``shape`` ``(H, W, C)``
    trained with Adam on minibatches for ``epochs`` passes over ``x``, each batch through
    ``settings.augment``.

    Weights from ``seed``; minibatch order from ``rng``'s stream ``batches``, augmentations
    from ``augment``; dropout, which draws from torch's global generator, from a fork of it
    seeded by ``rng``'s stream ``dropout``, so a run depends neither on what ran before it
    nor on its weights' draw (under ``torchrun``, a stream of each rank's:
    :func:`sdae.nn.distributed.per_rank`).
    """
    s, rng = settings, streams(rng, device=str(x.device))
    steps = s.epochs * math.ceil(len(x) / min(s.batch_size, len(x)))
    with seeded(seed):
        model = make_cnn(s.arch, n_classes, shape).to(x.device)
    transform = None
    if s.augment:
        aug_gen = rng.generator("augment")

        def transform(xb):
            return augment(xb, s.augment, aug_gen, shape)

    with seeded(derive_seed(rng.seed, distributed.per_rank(rng.prefix + "dropout"))):
        history = train_classifier(
            model, x, y, [(list(model.parameters()), s.lr)], iterations=steps, optimizer="adam",
            rng=rng, batch_size=s.batch_size, schedule=s.schedule, transform=transform,
            label_smoothing=s.label_smoothing, desc="CNN", progress=progress,
            precision_setting=s.precision,
        )  # fmt: skip
    return model, history


def _fit_baseline(config: BaselineConfig, x: torch.Tensor, y: torch.Tensor, progress: bool):
    s, seed, device = config.settings, config.seed, config.device
    if config.model == "knn":
        return fit_knn(x, y, s.k)
    if config.model == "logreg":
        return fit_logreg(x, y, s.c)
    if config.model == "mlp":
        facts = facts_of(config)
        return fit_mlp(x, y, s.sizes, s.finetune, seed=seed, n_classes=facts.n_classes,
                       rng=Streams(seed, "finetune-", device), progress=progress,
                       shape=image_shape(facts.image_shape))  # fmt: skip
    facts = facts_of(config)
    return fit_cnn(x, y, s, seed=seed, rng=Streams(seed, "cnn-", device), progress=progress,
                   n_classes=facts.n_classes, shape=image_shape(facts.image_shape))


def run_baseline(config: BaselineConfig, out: str | Path, *, data_dir=None,
                 progress: bool = False, overwrite: bool = False,
                 download: bool = True) -> dict[str, Any]:
    """A Table X baseline on the same labelled images an SAE run with the same seeds uses.

    Writes ``config.json``, ``confusion.png``, ``metrics.json`` (the SAE's keys) and, for
    the PyTorch models, ``finetune_cost.png`` and ``model.safetensors``.
    """
    return run_staged(config, out, write_baseline, data_dir=data_dir, progress=progress,
                      overwrite=overwrite, download=download, labelled=True)


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
        class_names=facts_of(config).class_names,
    )  # fmt: skip
    if isinstance(model, torch.nn.Module):
        save_model(out / "model.safetensors", model, config)
    write_json(out / RESULT_FILE, metrics)
    return metrics
