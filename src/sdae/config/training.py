"""Training settings: what each training loop is told to do, as frozen, validated data.

These are the leaves of a run's config tree (:mod:`sdae.config`); they import no engine
(torch), so building and checking a config, and ``sdae --help``, stay fast. The loops that
use them are in :mod:`sdae.nn.training`; the noises and augmentations they name are in
:mod:`sdae.nn.noise` and :mod:`sdae.nn.augment`, whose names and ranges are listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sdae.config.checks import (
    check_lr,
    check_noise,
    check_noise_range,
    check_optimizer,
    check_schedule,
    parse_augment,
)
from sdae.errors import SdaeError, SettingError

#: the autoencoder costs: equation (2), or its mean over the suspect pixels of each image
COSTS = ("sum", "suspect-mean")


#: the training noise's random streams (:mod:`sdae.nn.noise`): 16 random bits per pixel
#: from a fast generator (sdae >= 0.2.0), or torch.rand floats (sdae 0.1, bit for bit)
NOISE_STREAMS = ("fast16", "torch")


#: the precision of a training's matrix products (:mod:`sdae.nn.precision`): auto is bf16
#: where this machine computes it natively and measures it faster, else fp32
PRECISIONS = ("auto", "fp32", "bf16")


def check_precision(value: str) -> None:
    if value not in PRECISIONS:
        raise SettingError("precision", f"unknown {{name}} {value!r}; choose one of "
                           f"{', '.join(PRECISIONS)}")  # fmt: skip


@dataclass(frozen=True)
class AutoencoderTraining:
    """How to train one autoencoder: the paper's knobs plus Vincent et al.'s options.

    ``optimizer``: ``sgd`` is plain gradient descent (no momentum), ``adam`` is Adam.
    ``batch_size`` 0 means full batch. ``schedule``: ``constant``, or ``cosine`` decay of the
    learning rate to 0 over the ``iterations``. ``sparsity_weight`` > 0 adds
    ``weight * sum_j KL(target || mean activation of unit j)`` to the cost.

    ``noise_low`` (None: every image is corrupted at ``noise_level``) makes the noise level a
    range, ``noise_low:noise_level``: each image's level is drawn uniformly in it every time
    it is corrupted, for a model of noise of unknown strength. ``noise_level`` stays the one
    number a single level always was (now the top of the range), so a config written before
    ranges existed loads unchanged.

    ``noise_stream`` (:data:`NOISE_STREAMS`): where the training noise's random numbers
    come from: ``fast16`` (16 bits per pixel from numpy's SFC64 on the CPU, torch's Philox on
    CUDA; each probability exact to 2^-16) or ``torch`` (``torch.rand``, MT19937 on the CPU:
    what sdae 0.1 drew, and what a ``config.json`` without this key means, :data:`LEGACY`).

    ``precision`` (:data:`PRECISIONS`): ``auto`` runs the products in bf16 where this
    machine has bf16 instructions and a probe of the first step measures them faster (the
    choice is written to metrics.json), ``fp32`` always in fp32, ``bf16`` always in bf16.

    ``cost``: ``sum`` is equation (2), the cross-entropy summed over an image's pixels;
    ``suspect-mean`` (the conv DAE with pass-through only) averages it over the pixels at
    exactly 0 or 1 of each noisy image, so that an image at density 0.05 weighs as much as
    one at 0.7 (under ``sum`` it weighs 14 times less: it has 14 times fewer pixels to
    predict).
    """

    lr: float = 0.001
    iterations: int = 1000
    optimizer: str = "adam"
    batch_size: int = 0
    noise: str = "salt-and-pepper"
    noise_level: float = 0.0
    fixed_noise: bool = False
    sparsity_target: float = 0.05
    sparsity_weight: float = 0.0
    schedule: str = "constant"
    noise_low: float | None = None
    cost: str = "sum"
    noise_stream: str = "fast16"
    precision: str = "auto"

    #: what a saved config without a key ran with (read by :func:`sdae.config.tree.from_json`)
    LEGACY: ClassVar[dict[str, object]] = {"noise_stream": "torch", "precision": "fp32"}

    def __post_init__(self) -> None:
        check_precision(self.precision)
        if self.noise_stream not in NOISE_STREAMS:
            raise SettingError("noise_stream", f"unknown {{name}} {self.noise_stream!r}; choose "
                               f"one of {', '.join(NOISE_STREAMS)}")  # fmt: skip
        if self.cost not in COSTS:
            raise SettingError("cost", f"unknown {{name}} {self.cost!r}; choose one of "
                               f"{', '.join(COSTS)}")  # fmt: skip
        check_optimizer(self.optimizer, self.lr, self.iterations, self.batch_size)
        check_schedule(self.schedule)
        if self.noise_low is None:
            check_noise(self.noise, self.noise_level)
        else:
            check_noise_range(self.noise, self.noise_low, self.noise_level)
        if not 0.0 < self.sparsity_target < 1.0:
            raise SdaeError(f"sparsity target {self.sparsity_target} must lie in (0, 1)")
        if not self.sparsity_weight >= 0.0:
            raise SdaeError(f"sparsity weight {self.sparsity_weight} must be >= 0")

    @property
    def noise_range(self) -> tuple[float, float] | None:
        """``(low, high)`` of a range of levels, or None for one level."""
        return None if self.noise_low is None else (self.noise_low, self.noise_level)

    @property
    def noise_text(self) -> str:
        """The level as the flag takes it: ``0.3``, or ``0.02:0.7``."""
        low = "" if self.noise_low is None else f"{self.noise_low}:"
        return f"{low}{self.noise_level}"


@dataclass(frozen=True)
class Finetuning:
    """How to fine-tune a classifier by backpropagation (paper §IV.C, Tables II-IX).

    ``lr_top`` is the softmax layer's learning rate, ``lr_body`` the encoders' (0 freezes
    them). ``iterations`` counts optimizer steps; ``batch_size`` 0 is full batch.
    ``schedule``: ``constant``, or ``cosine`` decay of both rates to 0 over the run.
    Each step's images pass through ``augment`` (names from :mod:`sdae.nn.augment`), then
    ``input_dropout`` (masking noise: each pixel set to 0 with that probability). The
    defaults are the paper's recipe: :data:`FINETUNE_RECIPES` names it and one for many labels.
    """

    lr_top: float = 0.5
    lr_body: float = 0.001
    iterations: int = 2000
    optimizer: str = "sgd"
    batch_size: int = 0
    schedule: str = "constant"
    input_dropout: float = 0.0
    augment: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_optimizer(self.optimizer, None, self.iterations, self.batch_size)
        check_lr(self.lr_top, "lr_top", zero_ok=True)
        check_lr(self.lr_body, "lr_body", zero_ok=True)
        check_schedule(self.schedule)
        if not 0.0 <= self.input_dropout < 1.0:
            raise SdaeError(f"input dropout {self.input_dropout} must lie in [0, 1)")
        if self.lr_top == 0 and self.lr_body == 0:
            raise SdaeError("--lr-top and --lr-body are both 0: nothing would be trained; "
                            "give either a learning rate above 0")  # fmt: skip
        if not isinstance(self.augment, tuple) or parse_augment(self.augment) != self.augment:
            raise SdaeError(f"augment {self.augment!r}: give a tuple of distinct names from "
                            "sdae.nn.augment.AUGMENTATIONS (parse_augment('shift,flip') makes one)")



FINETUNE_RECIPES = {
    # Tables II-IX: 2000 full-batch gradient-descent steps, Table IX's best learning rates.
    "paper": Finetuning(),
    # Many labels (measured, see SaeConfig): minibatch Adam with cosine decay, augmentation
    # and input dropout, ~400 passes over 6000 images.
    "augmented": Finetuning(
        lr_top=0.01, lr_body=0.003, iterations=37500, optimizer="adam", batch_size=64,
        schedule="cosine", input_dropout=0.1, augment=("shift", "flip"),
    ),  # fmt: skip
}
