"""sdae: denoising and stacked autoencoders on Fashion-MNIST.

A tested reproduction of Yaramsetty, Gade and Adusumilli, "Image Reconstruction using
Denoising Autoencoder and Classification of Fashion MNIST Data using Stacked Autoencoders".
The command line (``sdae``) is a thin layer over this library; the names below are its
public API::

    import sdae, torch
    train, test = sdae.protocol_splits(sdae.load_fashion_mnist(), "paper", seed=0)
    stack = sdae.StackedAutoencoder([784, 300, 100])
    schedule = [sdae.AutoencoderTraining(lr=0.01, iterations=200)] * 2
    sdae.pretrain_stack(stack, train.x, schedule, torch.Generator().manual_seed(0))
    codes = stack.encode(test.x)                      # [600, 100]
"""

from sdae.checkpoints import load_model, save_model
from sdae.config import BaselineConfig, DaeConfig, SaeConfig
from sdae.data import load_fashion_mnist, protocol_splits
from sdae.errors import SdaeError
from sdae.experiments import run_baseline, run_dae, run_sae
from sdae.models import Autoencoder, SmallCNN, StackedAutoencoder, StackedClassifier
from sdae.noise import corrupt
from sdae.training import (
    AutoencoderTraining,
    Finetuning,
    finetune,
    pretrain_stack,
    train_autoencoder,
)

__version__ = "0.1.0"
__all__ = [
    "Autoencoder", "AutoencoderTraining", "BaselineConfig", "DaeConfig", "Finetuning", "SaeConfig",
    "SdaeError", "SmallCNN", "StackedAutoencoder", "StackedClassifier", "__version__",
    "corrupt", "finetune", "load_fashion_mnist", "load_model", "pretrain_stack",
    "protocol_splits", "run_baseline", "run_dae", "run_sae", "save_model", "train_autoencoder",
]  # fmt: skip
