"""Baselines for Table X: KNN and logistic regression on raw pixels (scikit-learn), an MLP
of the stacked autoencoder's shape from random weights, and a CNN (PyTorch).

Each ``fit_*`` takes the labelled images ``x: [N, 784]`` and labels ``y: [N]`` and returns a
fitted model whose ``predict(x) -> [N]`` gives class indices, plus a cost history (empty for
the scikit-learn models, which report no per-iteration cost).
"""

from __future__ import annotations

import math

import torch
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from sdae.augment import augment
from sdae.config import CnnSettings
from sdae.models import DeepCNN, SmallCNN, StackedAutoencoder, StackedClassifier, seeded
from sdae.rng import Streams, derive_seed, streams
from sdae.training import Finetuning, finetune, train_classifier


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
            progress=False) -> tuple[StackedClassifier, list[float]]:  # fmt: skip
    """The stacked autoencoder's network from random weights (``seed``, no pretraining),
    fine-tuned exactly as :func:`sdae.training.finetune` fine-tunes the pretrained one."""
    with seeded(seed):
        model = StackedClassifier(StackedAutoencoder(sizes))
    model.to(x.device)
    history = finetune(model, x, y, settings, rng=rng, progress=progress)
    return model, history


def fit_cnn(x, y, settings: CnnSettings, *, seed: int, rng: Streams | int,
            progress=False) -> tuple[DeepCNN | SmallCNN, list[float]]:  # fmt: skip
    """The CNN of ``settings`` trained with Adam on minibatches for ``epochs`` passes over
    ``x``, each batch through ``settings.augment``.

    Weights from ``seed``; minibatch order from ``rng``'s stream ``batches``, augmentations
    from ``augment``; dropout, which draws from torch's global generator, from a fork of it
    seeded by ``rng``'s stream ``dropout``, so a run depends neither on what ran before it
    nor on its weights' draw.
    """
    s, rng = settings, streams(rng, device=str(x.device))
    steps = s.epochs * math.ceil(len(x) / min(s.batch_size, len(x)))
    with seeded(seed):
        model = (DeepCNN().to_channels_last() if s.arch == "deep" else SmallCNN()).to(x.device)
    transform = None
    if s.augment:
        aug_gen = rng.generator("augment")

        def transform(xb):
            return augment(xb, s.augment, aug_gen)

    with seeded(derive_seed(rng.seed, rng.prefix + "dropout")):
        history = train_classifier(
            model, x, y, [(list(model.parameters()), s.lr)], iterations=steps, optimizer="adam",
            rng=rng, batch_size=s.batch_size, schedule=s.schedule, transform=transform,
            label_smoothing=s.label_smoothing, desc="CNN", progress=progress,
        )  # fmt: skip
    return model, history
