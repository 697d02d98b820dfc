"""Run settings: for each command, one tree of frozen, typed settings, validated on creation.

::

    DaeConfig                           sdae dae
    ├── hidden, tied                    the network 784-hidden-784
    ├── train: AutoencoderTraining      optimizer, lr, iterations, batch size, noise and level
    ├── test_noise                      noise level of the test images (same kind)
    └── protocol, seed, data_seed, device

    SaeConfig                           sdae sae
    ├── sizes, tied                     e.g. (784, 500, 200, 100)
    ├── pretrain: (AutoencoderTraining, ...)   one per layer (paper Tables I, IV, VII)
    ├── labels_per_class, labels_seed   None = every image of the pool is labelled
    ├── finetune_recipe, finetune: Finetuning  the recipe's name and the values used
    └── protocol, seed, data_seed, device

    BaselineConfig                      sdae baseline MODEL
    ├── model, settings: KnnSettings | LogregSettings | MlpSettings | CnnSettings
    └── labels_per_class, labels_seed, protocol, seed, data_seed, device

A config is printed when a run starts and saved as ``config.json`` (the tree as nested JSON)
beside its results and inside its checkpoint; :func:`load_config` reads it back to an equal
config. The command line's flags are mapped onto the tree by one table per command
(:data:`FLAGS`, applied by :func:`from_flags`); flat ``config.json`` files written before
the tree existed hold exactly those flags, so they load through the same table.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from sdae.data import PROTOCOLS
from sdae.devices import check_device
from sdae.errors import SdaeError
from sdae.rng import check_seed
from sdae.settings import (
    FINETUNE_RECIPES,
    AutoencoderTraining,
    Finetuning,
    check_noise,
    check_optimizer,
    check_schedule,
    parse_augment,
)
from sdae.tree import apply, from_json, has_path


def check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise SdaeError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")


def _check_run(config) -> None:
    """What every config shares: protocol, seeds, device."""
    check_protocol(config.protocol)
    check_seed(config.seed, "--seed")
    check_seed(config.data_seed, "--data-seed")
    check_device(config.device)


def _check_labels(config) -> None:
    check_seed(config.labels_seed, "--labels-seed")
    n = config.labels_per_class
    if n is None:
        return
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SdaeError(f"--labels-per-class {n!r}: give a whole number >= 1 or 'all'")
    per_class = PROTOCOLS[config.protocol][0] or 6000
    if n > per_class:
        raise SdaeError(f"--labels-per-class {n} is more than the {per_class} images per class "
                        f"in the {config.protocol} protocol's pool; ask for fewer, or use "
                        "--protocol full")  # fmt: skip


def check_sizes(sizes: tuple[int, ...]) -> None:
    arch = "-".join(map(str, sizes))
    if len(sizes) < 2:
        raise SdaeError(f"--arch {arch!r} has one layer; give the input and at least one "
                        "hidden size, e.g. 784-100")  # fmt: skip
    if sizes[0] != 784:
        raise SdaeError(f"--arch {arch!r} must start with 784, the pixels of a 28x28 image")
    if any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise SdaeError(f"--arch {arch!r}: every size must be a whole number, at least 1")


def parse_arch(arch: str) -> tuple[int, ...]:
    """``"784-500-200-100"`` -> ``(784, 500, 200, 100)``, checked."""
    parts = str(arch).replace(" ", "").split("-")
    if not all(p.isdigit() for p in parts):
        raise SdaeError(f"--arch {arch!r}: sizes must be whole numbers joined by '-', "
                        "e.g. 784-500-200-100")  # fmt: skip
    sizes = tuple(int(p) for p in parts)
    check_sizes(sizes)
    return sizes


def parse_labels(value: int | str | None) -> int | None:
    """``--labels-per-class``: a whole number >= 1, or ``all`` (None)."""
    if value is None or str(value).lower() == "all":
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if n < 1 or str(n) != str(value).strip():
        raise SdaeError(f"--labels-per-class {value!r}: give a whole number >= 1 or 'all'")
    return n


def labels_text(labels_per_class: int | None) -> str:
    return "all" if labels_per_class is None else str(labels_per_class)


def format_config(config) -> str:
    """The tree as indented JSON, for printing at the start of a run."""
    from sdae.outputs import to_jsonable

    return f"{type(config).__name__} {json.dumps(to_jsonable(config), indent=2)}"


DAE_MODELS = ("mlp", "conv")
#: How ``--model conv`` trains unless told otherwise: minibatch Adam, cosine decay, 20 passes
#: over the paper's 6000 training images (~7 minutes on 2 cores here).
CONV_TRAINING = AutoencoderTraining(
    lr=0.002, iterations=3750, optimizer="adam", batch_size=32, schedule="cosine",
    noise_level=0.3,
)  # fmt: skip


def _check_whole(flag: str, value: object, low: int = 1) -> None:
    """A count setting: an int (not a bool) of at least ``low``, else one line."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise SdaeError(f"{flag} must be a whole number >= {low}, not {value!r}")


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
    convolutional DAE (:class:`sdae.models.ConvAutoencoder`, ``width`` channels), trained
    by default with :data:`CONV_TRAINING`. It copies the pixels that impulse noise cannot
    have touched, except for Gaussian noise (see :attr:`passthrough`).
    """

    model: str = "mlp"
    hidden: int = 256
    tied: bool = False
    width: int = 32
    train: AutoencoderTraining = AutoencoderTraining(noise_level=0.3)
    test_noise: float = 0.5
    protocol: str = "paper"
    seed: int = 0
    data_seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        check_noise(self.train.noise, self.test_noise, "--test-noise")
        _check_whole("--hidden", self.hidden)
        _check_whole("--width", self.width)
        if self.model not in DAE_MODELS:
            raise SdaeError(f"unknown --model {self.model!r}; choose one of "
                            f"{', '.join(DAE_MODELS)}")  # fmt: skip
        if self.model == "conv" and self.tied:
            raise SdaeError("--tied is a setting of the MLP DAE; drop it, or use --model mlp")
        if self.model == "conv" and self.train.sparsity_weight:
            raise SdaeError("a sparsity penalty needs the MLP DAE's code; use --model mlp")
        _check_run(self)

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


# Pretraining schedules of the paper: (learning rate, iterations) per layer.
PAPER_PRETRAINING = {
    (784, 500, 200, 100): ((0.01, 1000), (0.005, 700), (0.02, 500)),  # Table I
    (784, 300, 100): ((0.01, 1000), (0.005, 1000)),  # Table IV
    (784, 100): ((0.01, 1000),),  # Table VII
}
DEFAULT_LAYER_SCHEDULE = (0.01, 1000)


def paper_pretraining(sizes: tuple[int, ...]) -> tuple[AutoencoderTraining, ...]:
    """The paper's schedule for its three architectures, else 0.01 / 1000 per layer; Adam,
    full batch, no corruption (see :class:`SaeConfig` for why Adam)."""
    plan = PAPER_PRETRAINING.get(tuple(sizes), (DEFAULT_LAYER_SCHEDULE,) * (len(sizes) - 1))
    return tuple(AutoencoderTraining(lr=lr, iterations=n, noise="masking") for lr, n in plan)


#: ``labels_per_class`` up to which ``finetune_recipe="auto"`` picks the paper's recipe.
AUTO_PAPER_MAX_LABELS = 10
RECIPES = ("auto", *FINETUNE_RECIPES)


def resolve_recipe(recipe: str, labels_per_class: int | None) -> str:
    """``auto`` -> ``paper`` for the paper's budgets (up to
    :data:`AUTO_PAPER_MAX_LABELS` labels per class), else ``augmented``.

    Measured on the paper protocol, 784-100, seed 0, from one pretrained stack, test accuracy
    of ``paper`` / ``augmented``: 0.715 / 0.693 with 10 labels per class, 0.760 / 0.770 with
    30, 0.793 / 0.798 with 100; with all 6000 labels ``paper`` gives 0.818 (it underfits:
    0.849 on the pool it trains on) and ``augmented`` 0.857 / 0.852 / 0.857 for seeds 0-2.
    """
    if recipe == "semi":  # the name for it; the best semi-supervised model is a CNN
        raise SdaeError("the semi-supervised recipe trains a CNN on the labelled images and "
                        "the pool, not the stack: run `sdae semi` with the same "
                        "--labels-per-class and --labels-seed")  # fmt: skip
    if recipe not in RECIPES:
        raise SdaeError(f"unknown fine-tuning recipe {recipe!r}; choose one of "
                        f"{', '.join(RECIPES)}")  # fmt: skip
    if recipe != "auto":
        return recipe
    few = labels_per_class is not None and labels_per_class <= AUTO_PAPER_MAX_LABELS
    return "paper" if few else "augmented"


def _check_recipe(name: str) -> None:
    if name not in FINETUNE_RECIPES:
        raise SdaeError(f"fine-tuning recipe {name!r}: a config records the recipe used, one "
                        f"of {', '.join(FINETUNE_RECIPES)}")  # fmt: skip


@dataclass(frozen=True)
class SaeConfig:
    """Stacked autoencoder (paper §IV.C, §V.B): greedy pretraining, softmax, fine-tuning.

    Pretraining runs the paper's learning rates and iterations, full batch, with Adam by
    default. Measured on the paper protocol, 784-100, seed 0: plain gradient descent
    (``optimizer="sgd"``) ends at cost 277 (paper Table VII: 313; 253 / 256 for
    784-500 / 784-300 beside 256 / 260 in Tables I, IV), so it is the reading that matches the
    paper's costs, but its features give 0.607 / 0.630 / 0.633 test accuracy with 5 labels
    per class (label seeds 0-2), against 0.698 / 0.638 / 0.618 after Adam (cost 213), nearer
    the paper's 70.2 %. Fine-tuning on the labelled images, with ``lr_top`` for the softmax
    layer and ``lr_body`` for the encoders, follows ``finetune`` (``finetune_recipe`` names
    the recipe it started from, see :func:`resolve_recipe`); the paper's recipe runs 2000
    full-batch gradient-descent iterations at Table IX's best pair (0.5, 0.001).
    """

    sizes: tuple[int, ...] = (784, 100)
    tied: bool = False
    pretrain: tuple[AutoencoderTraining, ...] = paper_pretraining((784, 100))
    labels_per_class: int | None = 5
    labels_seed: int = 0
    finetune_recipe: str = "paper"
    finetune: Finetuning = FINETUNE_RECIPES["paper"]
    protocol: str = "paper"
    seed: int = 0
    data_seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        check_sizes(self.sizes)
        if len(self.pretrain) != len(self.sizes) - 1:
            raise SdaeError(f"{len(self.sizes) - 1} layers but {len(self.pretrain)} pretraining "
                            "settings; give one per layer")  # fmt: skip
        _check_recipe(self.finetune_recipe)
        _check_run(self)
        _check_labels(self)

    @property
    def arch(self) -> str:
        return "-".join(map(str, self.sizes))


@dataclass(frozen=True)
class KnnSettings:
    """k-nearest neighbours on raw pixels."""

    k: int = 1

    def __post_init__(self) -> None:
        _check_whole("--k", self.k)


@dataclass(frozen=True)
class LogregSettings:
    """Multinomial logistic regression on raw pixels; ``c`` the inverse L2 strength."""

    c: float = 1.0

    def __post_init__(self) -> None:
        if not self.c > 0 or self.c == float("inf"):
            raise SdaeError(f"--c must be a finite number > 0, not {self.c}")


@dataclass(frozen=True)
class MlpSettings:
    """The network of ``sizes`` with a softmax layer, from random weights, fine-tuned exactly
    like the stacked autoencoder: the ablation of pretraining."""

    sizes: tuple[int, ...] = (784, 100)
    finetune_recipe: str = "paper"
    finetune: Finetuning = FINETUNE_RECIPES["paper"]

    def __post_init__(self) -> None:
        check_sizes(self.sizes)
        _check_recipe(self.finetune_recipe)

    @property
    def arch(self) -> str:
        return "-".join(map(str, self.sizes))


@dataclass(frozen=True)
class CnnSettings:
    """The CNN of Table X: ``arch`` ``deep`` (:class:`~sdae.models.DeepCNN`, the default)
    or ``small`` (:class:`~sdae.models.SmallCNN`, sdae's earlier baseline), Adam at ``lr``
    with ``schedule`` for ``epochs`` over the labelled set, each batch through ``augment``,
    cross-entropy with ``label_smoothing``.

    The defaults were measured on the full protocol (60000 / 10000 images, seed 0, 2 cores
    here): ``small`` with Adam 0.001 for 3 epochs 89.6 % in ~66 s; ``deep`` with this recipe
    93.48 % after 8 of a 12-epoch one-cycle schedule (516 s), so 8 epochs end annealed.
    """

    lr: float = 0.003
    epochs: int = 8
    batch_size: int = 128
    arch: str = "deep"
    schedule: str = "onecycle"
    augment: tuple[str, ...] = ("shift", "flip")
    label_smoothing: float = 0.1

    def __post_init__(self) -> None:
        check_optimizer("adam", self.lr, self.epochs, 0)
        if self.epochs < 1 or self.batch_size < 1:
            raise SdaeError("--epochs and --batch-size must be at least 1")
        if self.arch not in CNN_ARCHS:
            raise SdaeError(f"unknown --cnn-arch {self.arch!r}; choose one of "
                            f"{', '.join(CNN_ARCHS)}")  # fmt: skip
        check_schedule(self.schedule)
        if not isinstance(self.augment, tuple) or parse_augment(self.augment) != self.augment:
            raise SdaeError(f"--cnn-augment {self.augment!r}: give none or a comma-separated "
                            "list of shift, flip")  # fmt: skip
        if not 0.0 <= self.label_smoothing < 1.0:
            raise SdaeError(f"--label-smoothing {self.label_smoothing} must lie in [0, 1)")


CNN_ARCHS = ("deep", "small")
#: what a CNN config written before ``arch`` existed ran: the small CNN, plain Adam
LEGACY_CNN = {"arch": "small", "schedule": "constant", "augment": [], "label_smoothing": 0.0}
BASELINES = {"knn": KnnSettings, "logreg": LogregSettings, "mlp": MlpSettings,
             "cnn": CnnSettings}  # fmt: skip


@dataclass(frozen=True)
class BaselineConfig:
    """A baseline classifier of Table X on the same labelled images as :class:`SaeConfig`
    with the same seeds; ``settings`` holds what ``model`` needs and nothing else."""

    model: str = "knn"
    settings: KnnSettings | LogregSettings | MlpSettings | CnnSettings = KnnSettings()
    labels_per_class: int | None = 5
    labels_seed: int = 0
    protocol: str = "paper"
    seed: int = 0
    data_seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.model not in BASELINES:
            raise SdaeError(f"unknown baseline {self.model!r}; choose one of "
                            f"{', '.join(BASELINES)}")  # fmt: skip
        if type(self.settings) is not BASELINES[self.model]:
            raise SdaeError(f"baseline {self.model} takes {BASELINES[self.model].__name__}, "
                            f"not {type(self.settings).__name__}")  # fmt: skip
        _check_run(self)
        _check_labels(self)


ROBUST_LEVELS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4)


@dataclass(frozen=True)
class RobustConfig:
    """Denoise, then classify (:mod:`sdae.robustness`): test images corrupted by ``noise``
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
            check_noise(self.noise, level, "test noise level")
        check_noise(self.noise, self.dae_noise, "the DAEs' training noise")
        _check_run(self)


GRAPH_FEATURES = ("sae", "pca")


@dataclass(frozen=True)
class SemiConfig:
    """Semi-supervised training (:mod:`sdae.semi`): FixMatch (Sohn et al., 2020) with an EMA
    teacher on a :class:`~sdae.models.DeepCNN` of ``width``, the labelled images and the
    protocol's whole training pool. ``iterations`` Adam steps at ``lr`` (cosine decay), each
    on ``batch_size`` labelled images and ``unlabelled_ratio`` times as many pool images; a
    pool image counts when the teacher's confidence on its weak view reaches ``threshold``.
    The strong view adds the DAE's salt-and-pepper noise at ``strong_noise`` and a cutout.
    Before training, label spreading over a ``graph_neighbors``-NN graph of the pool
    (clamping ``graph_alpha``) labels the pool, and the ``graph_per_class`` most confident
    images of each class join the labelled ones with the graph's label (0: plain FixMatch).
    The graph is built on ``graph_features``: ``sae``, the codes of the paper's 784-100
    stack pretrained on the pool (Table VII's schedule, ``graph_pretrain_iterations`` Adam
    steps), or ``pca``, ``graph_components`` principal components of the pixels.
    """

    labels_per_class: int = 5
    labels_seed: int = 0
    width: int = 16
    iterations: int = 1800
    lr: float = 0.002
    batch_size: int = 64
    unlabelled_ratio: int = 3
    threshold: float = 0.95
    ema: float = 0.99
    strong_noise: float = 0.15
    graph_per_class: int = 50
    graph_features: str = "sae"
    graph_neighbors: int = 20
    graph_alpha: float = 0.9
    graph_components: int = 50
    graph_pretrain_iterations: int = 1000
    protocol: str = "paper"
    seed: int = 0
    data_seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.labels_per_class is None:
            raise SdaeError("sdae semi needs a label budget (--labels-per-class N): with all "
                            "labels use `sdae baseline cnn`")  # fmt: skip
        _check_labels(self)
        check_optimizer("adam", self.lr, self.iterations, self.batch_size)
        for flag, value, low in (("--width", self.width, 1), ("--batch-size", self.batch_size, 1),
                                 ("--unlabelled-ratio", self.unlabelled_ratio, 1),
                                 ("--graph-per-class", self.graph_per_class, 0),
                                 ("--graph-neighbors", self.graph_neighbors, 1),
                                 ("--graph-components", self.graph_components, 1),
                                 ("--graph-pretrain-iterations",
                                  self.graph_pretrain_iterations, 1)):  # fmt: skip
            _check_whole(flag, value, low)
        if self.graph_features not in GRAPH_FEATURES:
            raise SdaeError(f"--graph-features {self.graph_features!r}: choose one of "
                            f"{', '.join(GRAPH_FEATURES)}")  # fmt: skip
        if not 0.0 < self.graph_alpha < 1.0:
            raise SdaeError(f"--graph-alpha {self.graph_alpha} must lie in (0, 1)")
        if not 0.0 < self.threshold < 1.0:
            raise SdaeError(f"--threshold {self.threshold} must lie in (0, 1)")
        if not 0.0 <= self.ema < 1.0:
            raise SdaeError(f"--ema {self.ema} must lie in [0, 1)")
        check_noise("salt-and-pepper", self.strong_noise, "--strong-noise")
        _check_run(self)


CONFIGS = {"dae": DaeConfig, "sae": SaeConfig, "baseline": BaselineConfig,
           "robust": RobustConfig, "semi": SemiConfig}  # fmt: skip

# The command line onto the tree: flag (argparse dest) -> path of the setting it sets.
_RUN = {"protocol": "protocol", "seed": "seed", "data_seed": "data_seed", "device": "device"}
_LABELS = {"labels_per_class": "labels_per_class", "labels_seed": "labels_seed"}
_FINETUNE = {
    "lr_top": "lr_top", "lr_body": "lr_body", "finetune_iterations": "iterations",
    "finetune_optimizer": "optimizer", "finetune_batch_size": "batch_size",
    "finetune_schedule": "schedule", "input_dropout": "input_dropout", "augment": "augment",
}  # fmt: skip
FLAGS: dict[str, dict[str, str]] = {
    "dae": {
        "model": "model", "hidden": "hidden", "tied": "tied", "width": "width",
        "test_noise": "test_noise", "schedule": "train.schedule",
        "train_noise": "train.noise_level", "noise": "train.noise",
        "optimizer": "train.optimizer", "lr": "train.lr", "iterations": "train.iterations",
        "batch_size": "train.batch_size", "fixed_noise": "train.fixed_noise", **_RUN,
    },
    "sae": {
        "arch": "sizes", "tied": "tied", **_LABELS, "finetune_recipe": "finetune_recipe",
        **{flag: f"finetune.{f}" for flag, f in _FINETUNE.items()},
        "pretrain_lr": "pretrain[].lr", "pretrain_iterations": "pretrain[].iterations",
        "pretrain_optimizer": "pretrain[].optimizer",
        "pretrain_batch_size": "pretrain[].batch_size", "pretrain_noise": "pretrain[].noise",
        "pretrain_noise_level": "pretrain[].noise_level",
        "sparsity_weight": "pretrain[].sparsity_weight",
        "sparsity_target": "pretrain[].sparsity_target", **_RUN,
    },
    "semi": {
        **{f: f for f in ("labels_per_class", "labels_seed", "width", "iterations", "lr",
                          "batch_size", "unlabelled_ratio", "threshold", "ema",
                          "strong_noise", "graph_per_class", "graph_features",
                          "graph_neighbors", "graph_alpha", "graph_components",
                          "graph_pretrain_iterations")}, **_RUN,
    },
    "baseline": {
        "model": "model", **_LABELS, "k": "settings.k", "c": "settings.c",
        "cnn_lr": "settings.lr", "epochs": "settings.epochs", "batch_size": "settings.batch_size",
        "cnn_arch": "settings.arch", "cnn_schedule": "settings.schedule",
        "cnn_augment": "settings.augment", "label_smoothing": "settings.label_smoothing",
        "arch": "settings.sizes", "finetune_recipe": "settings.finetune_recipe",
        **{flag: f"settings.finetune.{f}" for flag, f in _FINETUNE.items()}, **_RUN,
    },
}  # fmt: skip
# flags whose text needs parsing into the tree's type
_PARSE = {"arch": parse_arch, "labels_per_class": parse_labels, "augment": parse_augment,
          "cnn_augment": parse_augment}  # fmt: skip


def _base(command: str, given: dict[str, object]):
    """The defaults that depend on other settings: the paper's pretraining for the
    architecture, the recipe for the label budget, the baseline's own settings."""
    labels = given.get("labels_per_class", 5)
    if command == "semi":
        return SemiConfig()
    if command == "dae":
        conv = given.get("model") == "conv"
        return DaeConfig(model="conv", train=CONV_TRAINING) if conv else DaeConfig()
    sizes = given.get("arch", (784, 100))
    recipe = resolve_recipe(given.get("finetune_recipe") or "auto", labels)
    if command == "sae":
        return SaeConfig(sizes=sizes, pretrain=paper_pretraining(sizes), labels_per_class=labels,
                         finetune_recipe=recipe, finetune=FINETUNE_RECIPES[recipe])
    model = given.get("model", "knn")
    if model == "mlp":
        settings = MlpSettings(sizes, recipe, FINETUNE_RECIPES[recipe])
    else:
        settings = BASELINES.get(model, KnnSettings)()
    return BaselineConfig(model=model, settings=settings, labels_per_class=labels)


def from_flags(command: str, flags: dict[str, object]):
    """The config of ``command`` (``dae``, ``sae``, ``baseline``) from flag values (argparse
    dests; None or an empty tuple means not given). Flags a baseline does not use (``--k``
    for a CNN) are left out of its config."""
    table = FLAGS[command]
    unknown = sorted(set(flags) - set(table))
    if unknown:
        raise SdaeError(f"{unknown[0]!r} is not a setting of sdae {command}")
    given = {k: _PARSE[k](v) if k in _PARSE else v for k, v in flags.items()
             if v is not None and v != ()}  # fmt: skip
    base = _base(command, given)
    consumed = () if command in ("dae", "semi") else ("arch", "labels_per_class",
                                                      "finetune_recipe", "model")
    changes = {table[k]: v for k, v in given.items() if k not in consumed}
    changes = {p: v for p, v in changes.items() if has_path(base, p)}
    names = {p: "--" + k.replace("_", "-") for k, p in table.items()}
    return apply(base, changes, names)


def load_config(command: str, data: object):
    """A config from its ``config.json`` contents: the tree, or the flat form written before
    it (which holds the command's flags)."""
    cls = CONFIGS[command]
    if not isinstance(data, dict):
        raise SdaeError(f"config: expected an object of settings, got {type(data).__name__}")
    if set(data) <= {f.name for f in dataclasses.fields(cls)}:
        settings = data.get("settings")
        cnn_fields = {f.name for f in dataclasses.fields(CnnSettings)}
        if command == "baseline" and data.get("model") == "cnn" and isinstance(settings, dict) \
                and "arch" not in settings and set(settings) <= cnn_fields:  # fmt: skip
            data = {**data, "settings": {**LEGACY_CNN, **settings}}
        return from_json(cls, data)
    flags = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    if command == "baseline" and flags.get("model") == "cnn" and "cnn_arch" not in flags:
        flags.update({f"cnn_{k}" if k != "label_smoothing" else k: v
                      for k, v in LEGACY_CNN.items()})  # fmt: skip
        flags["cnn_augment"] = "none"
    return from_flags(command, flags)
