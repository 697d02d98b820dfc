"""The settings of the denoising runs: :class:`DaeConfig` (``sdae dae``, paper §IV.B / §V.A)
and :class:`RobustConfig` (denoise, then classify, in ``sdae reproduce``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sdae.config.checks import (
    MIN_CONV_SIDE,
    check_conv_images,
    check_noise,
    check_run,
    check_whole,
    facts_of,
)
from sdae.config.training import AutoencoderTraining
from sdae.data.sources import SourceFacts
from sdae.errors import SdaeError, SettingError

DAE_MODELS = ("mlp", "conv")


#: How ``--model conv`` trains unless told otherwise: minibatch Adam, cosine decay, 20 passes
#: over the paper's 6000 training images (~7 minutes on 2 cores here).
CONV_TRAINING = AutoencoderTraining(
    lr=0.002, iterations=3750, optimizer="adam", batch_size=32, schedule="cosine",
    noise_level=0.3,
)  # fmt: skip


#: the side of the random crops ``--model conv`` trains on when the data's images are larger
DEFAULT_PATCH = 64
#: the test values a patch-trained DAE is scored on: one crop of each of at most this many
#: values' worth of test images (256 crops of 64x64 grey; a few seconds here)
EVAL_CROP_VALUES = 2**20


def default_patch(model: str, facts: SourceFacts) -> int:
    """``--patch-size`` unless given: :data:`DEFAULT_PATCH` for the conv DAE on images that
    hold such a crop and are larger than it, else 0 (whole images, as on Fashion-MNIST)."""
    h, w = facts.image_shape[:2]
    big = min(h, w) >= DEFAULT_PATCH and max(h, w) > DEFAULT_PATCH
    return DEFAULT_PATCH if model == "conv" and big else 0


@dataclass(frozen=True)
class DaeConfig:
    """The denoising autoencoder of paper §IV.B / §V.A.

    Defaults follow the paper where it speaks (784-256-784, learning rate 0.001, 1000
    iterations, 6000 training images, full batch) and choose Adam where it does not say:
    measured on the paper protocol at train/test noise 0.3, seed 0, full-batch gradient
    descent at lr 0.001 ends at cost 383.4, barely below the mean image's 385, and denoises
    to 11.01 dB, the mean image's 10.98 dB; Adam at lr 0.001 ends at 256.8 and reaches
    15.80 dB, with outputs that keep each garment's shape, as the paper's Fig. 6 describes.
    ``--optimizer sgd`` gives the other reading. The test images get ``train.noise`` too.

    ``model``: ``mlp`` is the paper's network (``hidden``, ``tied``); ``conv`` is sdae's
    convolutional DAE (:class:`sdae.nn.convnets.ConvAutoencoder`, ``width`` channels), trained
    by default with :data:`CONV_TRAINING`. It copies the pixels that impulse noise cannot
    have touched, except for Gaussian noise (see :attr:`passthrough`).

    ``patch_size`` (conv only; 0: whole images) trains on random ``patch x patch`` crops of
    the training images, a new one of each image at every step, and scores the model on one
    seeded crop of each of a bounded number of test images (:mod:`sdae.runs.dae`); the
    model's ``image_shape`` is then the patch's (it is fully convolutional).
    ``sdae dae`` defaults it with :func:`default_patch`.

    ``prefill`` (conv only, not with Gaussian noise): the conv DAE refines the adaptive mean
    of the clean pixels around each suspect one (:func:`sdae.nn.convnets.adaptive_mean`).
    """

    model: str = "mlp"
    hidden: int = 256
    tied: bool = False
    width: int = 32
    train: AutoencoderTraining = AutoencoderTraining(noise_level=0.3)
    test_noise: float = 0.3  # = train.noise_level; sdae dae defaults it to --train-noise
    data: str = "fashion-mnist"
    image_size: tuple[int, ...] | None = None  # an image folder's (H, W); None: the usual
    protocol: str = "paper"
    seed: int = 0
    data_seed: int = 0
    device: str = "cpu"
    patch_size: int = 0
    prefill: bool = False

    def __post_init__(self) -> None:
        check_noise(self.train.noise, self.test_noise, "test_noise")
        check_whole("hidden", self.hidden)
        check_whole("width", self.width)
        check_whole("patch_size", self.patch_size, 0, " (0 = whole images)")
        if self.model not in DAE_MODELS:
            raise SdaeError(f"unknown --model {self.model!r}; choose one of "
                            f"{', '.join(DAE_MODELS)}")  # fmt: skip
        if self.model == "conv" and self.tied:
            raise SdaeError("--tied is a setting of the MLP DAE; drop it, or use --model mlp")
        if self.model == "conv" and self.train.sparsity_weight:
            raise SdaeError("a sparsity penalty needs the MLP DAE's code; use --model mlp")
        impulse_conv = self.model == "conv" and self.passthrough
        if self.prefill and not impulse_conv:
            raise SettingError("prefill", "{name} starts the conv DAE from the clean pixels "
                               "around impulse noise: use it with --model conv and a noise "
                               "other than gaussian")
        if self.train.cost != "sum" and not impulse_conv:
            raise SettingError("train.cost", "{name} suspect-mean averages over the pixels "
                               "the conv DAE predicts: use it with --model conv and a noise "
                               "other than gaussian")
        if self.patch_size and self.model != "conv":
            raise SettingError("patch_size", "{name} trains the conv DAE on random crops; the "
                               "MLP DAE takes whole images: drop it, or use --model conv")
        if self.patch_size and self.train.fixed_noise:
            raise SettingError("patch_size", "{name} draws new crops at every step, and "
                               "--fixed-noise corrupts whole images once: drop one of them "
                               "(--patch-size 0 trains on whole images)")  # fmt: skip
        check_run(self)
        if self.model == "conv":
            check_conv_images(facts_of(self), "the conv DAE", "use --model mlp")
        if self.patch_size:
            facts = facts_of(self)
            side = min(facts.image_shape[:2])
            if not MIN_CONV_SIDE <= self.patch_size <= side:
                raise SettingError("patch_size", f"{{name}} {self.patch_size} must be from "
                                   f"{MIN_CONV_SIDE} to {side}, the smaller side of the "
                                   f"{facts.image_text()}s of {facts.name} (0: whole images)")

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of what the model takes and is scored on: the data's images, or the
        patch ``(patch, patch)`` / ``(patch, patch, C)``."""
        shape = facts_of(self).image_shape
        return shape if not self.patch_size else (self.patch_size,) * 2 + shape[2:]

    @property
    def passthrough(self) -> bool:
        """Whether the conv DAE copies pixels strictly between 0 and 1: for every noise but
        Gaussian, which moves every pixel."""
        return self.noise != "gaussian"

    @property
    def noise(self) -> str:
        return self.train.noise

    @property
    def train_noise(self) -> float:
        return self.train.noise_level


ROBUST_LEVELS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4)


@dataclass(frozen=True)
class RobustConfig:
    """Denoise, then classify (:mod:`sdae.reproduce.robustness`): test images corrupted by ``noise``
    at each of ``levels``, classified raw and after each denoiser by classifiers trained
    on clean images; the DAEs are the ones trained at ``dae_noise``."""

    levels: tuple[float, ...] = ROBUST_LEVELS
    noise: str = "salt-and-pepper"
    dae_noise: float = 0.3
    protocol: str = "paper"
    seed: int = 0
    data_seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        for level in self.levels:
            check_noise(self.noise, level, "levels")
        check_noise(self.noise, self.dae_noise, "dae_noise")
        check_run(self)
