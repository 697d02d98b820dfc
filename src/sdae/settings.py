"""Training settings: what each training loop is told to do, as frozen, validated data.

These are the leaves of a run's config tree (:mod:`sdae.config`); they import no engine
(torch), so building and checking a config, and ``sdae --help``, stay fast. The loops that
use them are in :mod:`sdae.training`; the noises and augmentations they name are in
:mod:`sdae.noise` and :mod:`sdae.augment`, whose names and ranges are listed here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sdae.errors import SdaeError

if TYPE_CHECKING:
    from sdae.rng import Streams

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "cosine", "onecycle")
# noise name -> (lowest level, highest level); the functions are in sdae.noise
NOISE_LEVELS: dict[str, tuple[float, float]] = {
    "salt-and-pepper": (0.0, 0.5),
    "salt-and-pepper-fresh": (0.0, 0.5),
    "masking": (0.0, 1.0),
    "gaussian": (0.0, 1.0),
}
AUGMENT_NAMES = ("flip", "shift")  # the functions are in sdae.augment


def check_noise(kind: str, level: float, what: str = "noise level") -> None:
    """Raise :class:`SdaeError` unless ``kind`` is known and ``level`` within its range."""
    if kind not in NOISE_LEVELS:
        raise SdaeError(f"unknown noise {kind!r}; choose one of {', '.join(NOISE_LEVELS)}")
    low, high = NOISE_LEVELS[kind]
    if not (low <= level <= high):  # also rejects NaN
        raise SdaeError(f"{what} {level} is outside [{low}, {high}] for {kind} noise")


def parse_augment(value: str | Sequence[str]) -> tuple[str, ...]:
    """``"shift,flip"`` (or a sequence of names) -> ``("shift", "flip")``; ``"none"`` or
    ``""`` -> ``()``. Unknown names raise :class:`SdaeError`."""
    names = value.split(",") if isinstance(value, str) else list(value)
    names = [n.strip() for n in names if n.strip() and n.strip() != "none"]
    unknown = [n for n in names if n not in AUGMENT_NAMES]
    if unknown:
        raise SdaeError(f"unknown augmentation {unknown[0]!r}; use none, or a comma-separated "
                        f"list of {', '.join(AUGMENT_NAMES)}")  # fmt: skip
    return tuple(dict.fromkeys(names))


def check_schedule(name: str) -> None:
    if name not in SCHEDULES:
        raise SdaeError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")


def check_optimizer(name: str, lr: float, iterations: int, batch_size: int) -> None:
    if name not in OPTIMIZERS:
        raise SdaeError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    if not (math.isfinite(lr) and lr >= 0.0):
        raise SdaeError(f"learning rate {lr} must be a finite number >= 0")
    if iterations < 1:
        raise SdaeError(f"iterations must be at least 1, not {iterations}")
    if batch_size < 0:
        raise SdaeError(f"batch size must be >= 0 (0 = full batch), not {batch_size}")


@dataclass(frozen=True)
class AutoencoderTraining:
    """How to train one autoencoder: the paper's knobs plus Vincent et al.'s options.

    ``optimizer``: ``sgd`` is plain gradient descent (no momentum), ``adam`` is Adam.
    ``batch_size`` 0 means full batch. ``schedule``: ``constant``, or ``cosine`` decay of the
    learning rate to 0 over the ``iterations``. ``sparsity_weight`` > 0 adds
    ``weight * sum_j KL(target || mean activation of unit j)`` to the cost.
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

    def __post_init__(self) -> None:
        check_optimizer(self.optimizer, self.lr, self.iterations, self.batch_size)
        check_schedule(self.schedule)
        check_noise(self.noise, self.noise_level, "training noise level")
        if not 0.0 < self.sparsity_target < 1.0:
            raise SdaeError(f"sparsity target {self.sparsity_target} must lie in (0, 1)")
        if not self.sparsity_weight >= 0.0:
            raise SdaeError(f"sparsity weight {self.sparsity_weight} must be >= 0")


@dataclass(frozen=True)
class Finetuning:
    """How to fine-tune a classifier by backpropagation (paper §IV.C, Tables II-IX).

    ``lr_top`` is the softmax layer's learning rate, ``lr_body`` the encoders' (0 freezes
    them). ``iterations`` counts optimizer steps; ``batch_size`` 0 is full batch.
    ``schedule``: ``constant``, or ``cosine`` decay of both rates to 0 over the run.
    Each step's images pass through ``augment`` (names from :mod:`sdae.augment`), then
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
        check_optimizer(self.optimizer, self.lr_top, self.iterations, self.batch_size)
        check_optimizer(self.optimizer, self.lr_body, 1, 0)
        check_schedule(self.schedule)
        if not 0.0 <= self.input_dropout < 1.0:
            raise SdaeError(f"input dropout {self.input_dropout} must lie in [0, 1)")
        if self.lr_top == 0 and self.lr_body == 0:
            raise SdaeError("--lr-top and --lr-body are both 0: nothing would be trained; "
                            "give either a learning rate above 0")  # fmt: skip
        if not isinstance(self.augment, tuple) or parse_augment(self.augment) != self.augment:
            raise SdaeError(f"augment {self.augment!r}: give a tuple of distinct names from "
                            "sdae.augment.AUGMENTATIONS (parse_augment('shift,flip') makes one)")

    def transform(self, rng: Streams):
        """The per-step input transformation (augmentations from ``rng``'s stream
        ``augment``, input dropout from ``dropout``), or None when there is none."""
        if not (self.augment or self.input_dropout):
            return None
        from sdae.augment import augment  # the engine, imported only when training
        from sdae.noise import masking

        aug_gen, drop_gen = rng.generator("augment"), rng.generator("dropout")

        def _transform(x):
            x = augment(x, self.augment, aug_gen)
            # validated once in __post_init__, so call the noise itself, not corrupt()
            return masking(x, self.input_dropout, drop_gen) if self.input_dropout else x

        return _transform


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
