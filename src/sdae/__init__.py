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

__version__ = "0.1.0"

# The public API, imported on first use: ``sdae --help`` and one-line errors need neither
# torch's nor scikit-learn's start-up time (7 s before, here).
_API = {
    "sdae.checkpoints": ("load_model", "save_model"),
    "sdae.config": ("BaselineConfig", "DaeConfig", "SaeConfig", "SemiConfig", "from_flags",
                    "load_config"),
    "sdae.data": ("load_fashion_mnist", "protocol_splits"),
    "sdae.errors": ("SdaeError",),
    "sdae.experiments": ("run_baseline", "run_dae", "run_sae"),
    "sdae.models": ("Autoencoder", "ConvAutoencoder", "DeepCNN", "SmallCNN", "StackedAutoencoder",
                    "StackedClassifier"),
    "sdae.noise": ("corrupt",),
    "sdae.rng": ("Streams",),
    "sdae.semi": ("run_semi",),
    "sdae.sklearn": ("DenoisingAutoencoder", "StackedAutoencoderClassifier"),
    "sdae.training": ("AutoencoderTraining", "Finetuning", "finetune", "pretrain_stack",
                      "train_autoencoder"),
}  # fmt: skip
_HOME = {name: module for module, names in _API.items() for name in names}
__all__ = sorted([*_HOME, "__version__"])


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'sdae' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])


if TYPE_CHECKING:  # for type checkers and IDEs
    from sdae.checkpoints import load_model, save_model  # noqa: F401
    from sdae.config import (  # noqa: F401
        BaselineConfig,
        DaeConfig,
        SaeConfig,
        from_flags,
        load_config,
    )
    from sdae.data import load_fashion_mnist, protocol_splits  # noqa: F401
    from sdae.errors import SdaeError  # noqa: F401
    from sdae.experiments import run_baseline, run_dae, run_sae  # noqa: F401
    from sdae.models import Autoencoder, SmallCNN, StackedAutoencoder, StackedClassifier  # noqa: F401
    from sdae.noise import corrupt  # noqa: F401
    from sdae.rng import Streams  # noqa: F401
    from sdae.training import (  # noqa: F401
        AutoencoderTraining,
        Finetuning,
        finetune,
        pretrain_stack,
        train_autoencoder,
    )
