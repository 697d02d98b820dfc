"""sdae: denoising and stacked autoencoders on Fashion-MNIST.

A tested reproduction of Yaramsetty, Gade and Adusumilli, "Image Reconstruction using
Denoising Autoencoder and Classification of Fashion MNIST Data using Stacked Autoencoders".
The command line (``sdae``) is a thin layer over this library; the names below are its
public API::

    import sdae
    train, test = sdae.protocol_splits(sdae.load_fashion_mnist(), "paper", seed=0)
    stack = sdae.StackedAutoencoder([784, 300, 100])
    schedule = [sdae.AutoencoderTraining(lr=0.01, iterations=200)] * 2
    sdae.pretrain_stack(stack, train.x, schedule, rng=0)  # rng: a seed, or sdae.Streams
    codes = stack.encode(test.x)                      # [600, 100]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# 0.2.0: the training noise from the fast16 stream; 0.3.0: sdae semi's two rounds;
# 0.4.0: sdae semi's label counts in proportion to the pool
__version__ = "0.4.0"

# The public API, imported on first use: ``sdae --help`` and one-line errors need neither
# torch's nor scikit-learn's start-up time (7 s before, here).
API = {
    "sdae.config": ("BaselineConfig", "DaeConfig", "SaeConfig", "SemiConfig", "from_flags",
                    "load_config"),
    "sdae.config.training": ("AutoencoderTraining", "Finetuning"),
    "sdae.data.fashion_mnist": ("load_fashion_mnist",),
    "sdae.data.sources": ("Dataset", "load_dataset"),
    "sdae.data.splits": ("protocol_splits",),
    "sdae.errors": ("SdaeError",),
    "sdae.io.checkpoints": ("load_model", "save_model"),
    "sdae.nn.convnets": ("ConvAutoencoder", "DeepCNN", "SmallCNN"),
    "sdae.nn.models": ("Autoencoder", "StackedAutoencoder", "StackedClassifier"),
    "sdae.nn.noise": ("corrupt",),
    "sdae.nn.training": ("finetune", "pretrain_stack", "train_autoencoder"),
    "sdae.rng": ("Streams",),
    "sdae.runs.baseline": ("run_baseline",),
    "sdae.runs.dae": ("run_dae",),
    "sdae.runs.sae": ("run_sae",),
    "sdae.runs.semi": ("run_semi",),
    "sdae.sklearn": ("DenoisingAutoencoder", "StackedAutoencoderClassifier"),
}  # fmt: skip
_HOME = {name: module for module, names in API.items() for name in names}
__all__ = sorted([*_HOME, "__version__"])


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'sdae' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])


if TYPE_CHECKING:  # for type checkers and IDEs: the same names as API (a test checks)
    from sdae.config import (
        BaselineConfig,
        DaeConfig,
        SaeConfig,
        SemiConfig,
        from_flags,
        load_config,
    )
    from sdae.config.training import AutoencoderTraining, Finetuning
    from sdae.data.fashion_mnist import load_fashion_mnist
    from sdae.data.sources import Dataset, load_dataset
    from sdae.data.splits import protocol_splits
    from sdae.errors import SdaeError
    from sdae.io.checkpoints import load_model, save_model
    from sdae.nn.convnets import ConvAutoencoder, DeepCNN, SmallCNN
    from sdae.nn.models import Autoencoder, StackedAutoencoder, StackedClassifier
    from sdae.nn.noise import corrupt
    from sdae.nn.training import finetune, pretrain_stack, train_autoencoder
    from sdae.rng import Streams
    from sdae.runs.baseline import run_baseline
    from sdae.runs.dae import run_dae
    from sdae.runs.sae import run_sae
    from sdae.runs.semi import run_semi
    from sdae.sklearn import DenoisingAutoencoder, StackedAutoencoderClassifier
