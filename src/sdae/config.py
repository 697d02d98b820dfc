"""Run settings: one frozen dataclass per command, validated on creation.

A config is printed when a run starts and saved as ``config.json`` beside its results and
inside its checkpoint, so every figure and number traces back to its settings and seeds.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

import torch

from sdae.data import PROTOCOLS
from sdae.errors import SdaeError
from sdae.noise import check_noise
from sdae.training import (
    FINETUNE_RECIPES,
    AutoencoderTraining,
    Finetuning,
    check_optimizer,
)


def derive_seed(seed: int, stream: str) -> int:
    """An independent seed for one random stream (noise, minibatches, ...) of a run, so that
    drawing more of one stream never shifts another."""
    digest = hashlib.sha256(f"{seed}/{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def generator(seed: int, stream: str, device: str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(derive_seed(seed, stream))


def check_device(device: str) -> None:
    if device == "cpu":
        return
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SdaeError(f"--device {device}: CUDA is not available here; use --device cpu")
        return
    raise SdaeError(f"unknown device {device!r}; use cpu or cuda")


def check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise SdaeError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")


def format_config(config) -> str:
    """One line per setting, for printing at the start of a run."""
    fields = dataclasses.asdict(config)
    width = max(map(len, fields))
    body = "\n".join(f"  {k:<{width}} = {v!r}" for k, v in fields.items())
    return f"{type(config).__name__}(\n{body}\n)"


@dataclass(frozen=True)
class DaeConfig:
    """The denoising autoencoder of paper §IV.B / §V.A.

    Defaults follow the paper where it speaks (784-256-784, learning rate 0.001, 1000
    iterations, 6000 training images, full batch) and choose Adam where it does not say:
    measured on the paper protocol at train/test noise 0.3, seed 0, full-batch gradient
    descent at lr 0.001 ends at cost 383.4, barely below the mean image's 385, and denoises
    to 11.01 dB, the mean image's 10.98 dB; Adam at lr 0.001 ends at 256.8 and reaches
    15.80 dB, with outputs that keep each garment's shape, as the paper's Fig. 6 describes.
    ``--optimizer sgd`` gives the other reading.
    """

    train_noise: float = 0.3
    test_noise: float = 0.5
    noise: str = "salt-and-pepper"
    hidden: int = 256
    tied: bool = False
    optimizer: str = "adam"
    lr: float = 0.001
    iterations: int = 1000
    batch_size: int = 0
    fixed_noise: bool = False
    protocol: str = "paper"
    seed: int = 0
    data_seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        check_noise(self.noise, self.train_noise, "--train-noise")
        check_noise(self.noise, self.test_noise, "--test-noise")
        check_optimizer(self.optimizer, self.lr, self.iterations, self.batch_size)
        if self.hidden < 1:
            raise SdaeError(f"--hidden must be at least 1, not {self.hidden}")
        check_protocol(self.protocol)
        check_device(self.device)

    def training(self) -> AutoencoderTraining:
        return AutoencoderTraining(
            lr=self.lr, iterations=self.iterations, optimizer=self.optimizer,
            batch_size=self.batch_size, noise=self.noise, noise_level=self.train_noise,
            fixed_noise=self.fixed_noise,
        )  # fmt: skip


# Pretraining schedules of the paper: (learning rate, iterations) per layer.
PAPER_PRETRAINING = {
    (784, 500, 200, 100): ((0.01, 1000), (0.005, 700), (0.02, 500)),  # Table I
    (784, 300, 100): ((0.01, 1000), (0.005, 1000)),  # Table IV
    (784, 100): ((0.01, 1000),),  # Table VII
}
DEFAULT_LAYER_SCHEDULE = (0.01, 1000)


def parse_arch(arch: str) -> tuple[int, ...]:
    """``"784-500-200-100"`` -> ``(784, 500, 200, 100)``, checked."""
    parts = str(arch).replace(" ", "").split("-")
    if not all(p.isdigit() for p in parts):
        raise SdaeError(f"--arch {arch!r}: sizes must be whole numbers joined by '-', "
                        "e.g. 784-500-200-100")  # fmt: skip
    sizes = tuple(int(p) for p in parts)
    if len(sizes) < 2:
        raise SdaeError(f"--arch {arch!r} has one layer; give the input and at least one "
                        "hidden size, e.g. 784-100")  # fmt: skip
    if sizes[0] != 784:
        raise SdaeError(f"--arch {arch!r} must start with 784, the pixels of a 28x28 image")
    if min(sizes) < 1:
        raise SdaeError(f"--arch {arch!r}: every size must be at least 1")
    return sizes


def parse_labels(value: int | str) -> int | str:
    """``labels_per_class``: a positive whole number or ``"all"``."""
    if str(value).lower() == "all":
        return "all"
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if n < 1 or str(n) != str(value).strip():
        raise SdaeError(f"--labels-per-class {value!r}: give a whole number >= 1 or 'all'")
    return n


def _per_layer(values: tuple, n_layers: int, what: str) -> tuple:
    if len(values) == 1:
        return values * n_layers
    if len(values) != n_layers:
        raise SdaeError(f"{what}: {len(values)} values for {n_layers} layers; "
                        "give one value, or one per layer")  # fmt: skip
    return tuple(values)


#: ``labels_per_class`` up to which ``finetune_recipe="auto"`` picks the paper's recipe.
AUTO_PAPER_MAX_LABELS = 10
RECIPES = ("auto", *FINETUNE_RECIPES)
_RECIPE_FIELDS = {  # config field -> Finetuning field
    "lr_top": "lr_top", "lr_body": "lr_body", "finetune_iterations": "iterations",
    "finetune_optimizer": "optimizer", "finetune_batch_size": "batch_size",
    "finetune_schedule": "schedule", "input_dropout": "input_dropout", "augment": "augment",
}  # fmt: skip


def resolve_recipe(recipe: str, labels_per_class: int | str) -> str:
    """``auto`` -> ``paper`` for the paper's budgets (up to
    :data:`AUTO_PAPER_MAX_LABELS` labels per class), else ``augmented``."""
    if recipe not in RECIPES:
        raise SdaeError(f"unknown fine-tuning recipe {recipe!r}; choose one of "
                        f"{', '.join(RECIPES)}")  # fmt: skip
    if recipe != "auto":
        return recipe
    few = labels_per_class != "all" and labels_per_class <= AUTO_PAPER_MAX_LABELS
    return "paper" if few else "augmented"


@dataclass(frozen=True)
class ClassifierRun:
    """What every classifier run shares (``sdae sae`` and ``sdae baseline``): the network's
    sizes, the labelled draw, the fine-tuning settings, the data protocol, the seeds and the
    device; validated here once for both.

    Fine-tuning starts from a recipe of :data:`sdae.training.FINETUNE_RECIPES`; any
    fine-tuning field given (not None) overrides the recipe's value, and after creation every
    field holds the value actually used, so ``config.json`` is complete. ``auto`` picks
    ``paper`` (2000 full-batch gradient-descent steps, Tables II-IX) for up to 10 labels per
    class and ``augmented`` (minibatch Adam, shift + flip, input dropout) above. Measured on
    the paper protocol, 784-100, seed 0, from one pretrained stack, test accuracy of
    ``paper`` / ``augmented``: 0.715 / 0.693 with 10 labels per class, 0.760 / 0.770 with 30,
    0.793 / 0.798 with 100; with all 6000 labels ``paper`` gives 0.818 (it underfits: 0.849
    on the pool it trains on) and ``augmented`` 0.857 / 0.852 / 0.857 for seeds 0 / 1 / 2.
    """

    arch: str = "784-100"
    labels_per_class: int | str = 5
    finetune_recipe: str = "auto"
    lr_top: float | None = None
    lr_body: float | None = None
    finetune_iterations: int | None = None
    finetune_optimizer: str | None = None
    finetune_batch_size: int | None = None
    finetune_schedule: str | None = None
    input_dropout: float | None = None
    augment: str | tuple[str, ...] | None = None
    protocol: str = "paper"
    seed: int = 0
    labels_seed: int = 0
    data_seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        object.__setattr__(self, "arch", "-".join(map(str, parse_arch(self.arch))))
        object.__setattr__(self, "labels_per_class", parse_labels(self.labels_per_class))
        if self.fine_tunes():
            self._resolve_finetuning()
        else:  # None in config.json: these settings played no part in the run
            for name in ("finetune_recipe", *_RECIPE_FIELDS):
                object.__setattr__(self, name, None)
        check_protocol(self.protocol)
        check_device(self.device)

    def fine_tunes(self) -> bool:
        """Whether the run fine-tunes a network, and so uses the fine-tuning settings."""
        return True

    def _resolve_finetuning(self) -> None:
        recipe = resolve_recipe(self.finetune_recipe or "auto", self.labels_per_class)
        object.__setattr__(self, "finetune_recipe", recipe)
        given = {f: getattr(self, name) for name, f in _RECIPE_FIELDS.items()
                 if getattr(self, name) is not None}  # fmt: skip
        settings = dataclasses.replace(FINETUNE_RECIPES[recipe], **given)
        for name, f in _RECIPE_FIELDS.items():
            object.__setattr__(self, name, getattr(settings, f))

    def finetuning(self) -> Finetuning:
        """The fine-tuning settings of this run."""
        return Finetuning(**{f: getattr(self, name) for name, f in _RECIPE_FIELDS.items()})

    @property
    def sizes(self) -> tuple[int, ...]:
        return parse_arch(self.arch)


@dataclass(frozen=True)
class SaeConfig(ClassifierRun):
    """Stacked autoencoder (paper §IV.C, §V.B): greedy pretraining, softmax, fine-tuning.

    Pretraining runs the paper's learning rates and iterations, full batch, with Adam by
    default. Measured on the paper protocol, 784-100, seed 0: plain gradient descent
    (``pretrain_optimizer="sgd"``) ends at cost 277 (paper Table VII: 313; 253 / 256 for
    784-500 / 784-300 beside 256 / 260 in Tables I, IV), so it is the reading that matches the
    paper's costs, but its features give 0.607 / 0.630 / 0.633 test accuracy with 5 labels
    per class (label seeds 0-2), against 0.698 / 0.638 / 0.618 after Adam (cost 213), nearer
    the paper's 70.2 %. An empty ``pretrain_lr`` or
    ``pretrain_iterations`` takes the paper's schedule for the paper's three architectures,
    else 0.01 / 1000 per layer. Fine-tuning on the labelled images, with ``lr_top`` for the
    softmax layer and ``lr_body`` for the encoders, follows ``finetune_recipe`` (see
    :class:`ClassifierRun`); the paper's recipe runs 2000 full-batch gradient-descent
    iterations at Table IX's best pair (0.5, 0.001).
    """

    pretrain_lr: tuple[float, ...] = ()
    pretrain_iterations: tuple[int, ...] = ()
    pretrain_optimizer: str = "adam"
    pretrain_batch_size: int = 0
    pretrain_noise: str = "masking"
    pretrain_noise_level: float = 0.0
    sparsity_weight: float = 0.0
    sparsity_target: float = 0.05
    tied: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        sizes = self.sizes
        paper = PAPER_PRETRAINING.get(sizes, (DEFAULT_LAYER_SCHEDULE,) * (len(sizes) - 1))
        lrs = tuple(float(v) for v in self.pretrain_lr) or tuple(lr for lr, _ in paper)
        its = tuple(int(v) for v in self.pretrain_iterations) or tuple(n for _, n in paper)
        object.__setattr__(self, "pretrain_lr", _per_layer(lrs, len(sizes) - 1, "--pretrain-lr"))
        object.__setattr__(self, "pretrain_iterations",
                           _per_layer(its, len(sizes) - 1, "--pretrain-iterations"))  # fmt: skip
        for lr, n in zip(self.pretrain_lr, self.pretrain_iterations):
            self.layer_training(lr, n)  # validates each layer's settings

    def layer_training(self, lr: float, iterations: int) -> AutoencoderTraining:
        return AutoencoderTraining(
            lr=lr, iterations=iterations, optimizer=self.pretrain_optimizer,
            batch_size=self.pretrain_batch_size, noise=self.pretrain_noise,
            noise_level=self.pretrain_noise_level, sparsity_target=self.sparsity_target,
            sparsity_weight=self.sparsity_weight,
        )  # fmt: skip

    def schedule(self) -> list[AutoencoderTraining]:
        return [self.layer_training(lr, n)
                for lr, n in zip(self.pretrain_lr, self.pretrain_iterations)]  # fmt: skip


BASELINES = ("knn", "logreg", "mlp", "cnn")


@dataclass(frozen=True)
class BaselineConfig(ClassifierRun):
    """A baseline classifier on the same labelled images as :class:`SaeConfig`.

    ``knn``: k-nearest neighbours on raw pixels (``k``); ``logreg``: multinomial logistic
    regression on raw pixels (``c`` the inverse L2 strength); ``mlp``: the network of
    ``arch`` with a softmax layer, from random weights, fine-tuned exactly like the stacked
    autoencoder (same recipe and settings): the ablation of pretraining; ``cnn``:
    :class:`~sdae.models.SmallCNN`, Adam at ``cnn_lr`` for ``epochs`` over the labelled set.
    Only ``mlp`` fine-tunes; for the others the fine-tuning fields are None.
    """

    model: str = "knn"
    k: int = 1
    c: float = 1.0
    cnn_lr: float = 0.001
    epochs: int = 5
    batch_size: int = 128

    def __post_init__(self) -> None:
        if self.model not in BASELINES:
            raise SdaeError(f"unknown baseline {self.model!r}; choose one of "
                            f"{', '.join(BASELINES)}")  # fmt: skip
        super().__post_init__()
        if self.k < 1:
            raise SdaeError(f"--k must be at least 1, not {self.k}")
        if not self.c > 0:
            raise SdaeError(f"--c must be > 0, not {self.c}")
        if self.epochs < 1 or self.batch_size < 1:
            raise SdaeError("--epochs and --batch-size must be at least 1")
        check_optimizer("adam", self.cnn_lr, 1, 0)

    def fine_tunes(self) -> bool:
        return self.model == "mlp"
