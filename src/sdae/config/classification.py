"""The settings of the classification runs: :class:`SaeConfig` (``sdae sae``, paper §IV.C /
§V.B, with the paper's pretraining schedules and fine-tuning recipes), :class:`BaselineConfig`
with one settings class per baseline (Table X), and :class:`SemiConfig` (``sdae semi``).

::

    SaeConfig                           sdae sae
    ├── sizes, tied                     e.g. (784, 500, 200, 100)
    ├── pretrain: (AutoencoderTraining, ...)   one per layer (paper Tables I, IV, VII)
    ├── labels_per_class, labels_seed   None = every image of the pool is labelled
    ├── finetune_recipe, finetune: Finetuning  the recipe's name and the values used
    └── protocol, seed, data_seed, device

    BaselineConfig                      sdae baseline MODEL
    ├── model, settings: KnnSettings | LogregSettings | MlpSettings | CnnSettings
    └── labels_per_class, labels_seed, protocol, seed, data_seed, device
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

from sdae.config.checks import (
    check_conv_images,
    check_graph,
    check_input_size,
    check_labels,
    check_lr,
    check_neighbours,
    check_noise,
    check_optimizer,
    check_run,
    check_schedule,
    check_sizes,
    check_whole,
    facts_of,
    parse_augment,
)
from sdae.config.training import (
    FINETUNE_RECIPES,
    AutoencoderTraining,
    Finetuning,
    check_precision,
)
from sdae.errors import SdaeError

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


def check_recipe(name: str) -> None:
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
    data: str = "fashion-mnist"
    image_size: tuple[int, ...] | None = None  # an image folder's (H, W); None: the usual
    protocol: str = "paper"
    seed: int = 0
    data_seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        check_sizes(self.sizes)
        if len(self.pretrain) != len(self.sizes) - 1:
            raise SdaeError(f"{len(self.sizes) - 1} layers but {len(self.pretrain)} pretraining "
                            "settings; give one per layer")  # fmt: skip
        check_recipe(self.finetune_recipe)
        check_run(self)
        check_input_size(self.sizes, facts_of(self))
        check_labels(self)

    @property
    def arch(self) -> str:
        return "-".join(map(str, self.sizes))


@dataclass(frozen=True)
class KnnSettings:
    """k-nearest neighbours on raw pixels."""

    k: int = 1

    def __post_init__(self) -> None:
        check_whole("k", self.k)


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
        check_recipe(self.finetune_recipe)

    @property
    def arch(self) -> str:
        return "-".join(map(str, self.sizes))


@dataclass(frozen=True)
class CnnSettings:
    """The CNN of Table X: ``arch`` ``deep`` (:class:`~sdae.nn.convnets.DeepCNN`, the default)
    or ``small`` (:class:`~sdae.nn.convnets.SmallCNN`, sdae's earlier baseline), Adam at ``lr``
    with ``schedule`` for ``epochs`` over the labelled set, each batch through ``augment``,
    cross-entropy with ``label_smoothing``.

    The defaults were measured on the full protocol (60000 / 10000 images, seed 0, 2 cores
    here): ``small`` with Adam 0.001 for 3 epochs 89.6 % in ~66 s; ``deep`` with this recipe
    93.48 % after 8 of a 12-epoch one-cycle schedule (516 s), so 8 epochs end annealed.
    ``precision`` as :class:`~sdae.config.training.AutoencoderTraining`'s (bf16 autocast
    where this machine measures it faster).
    """

    lr: float = 0.003
    epochs: int = 8
    batch_size: int = 128
    arch: str = "deep"
    schedule: str = "onecycle"
    augment: tuple[str, ...] = ("shift", "flip")
    label_smoothing: float = 0.1
    precision: str = "auto"

    #: what a saved config without a key ran with (read by :func:`sdae.config.tree.from_json`)
    LEGACY: ClassVar[dict[str, object]] = {"precision": "fp32"}

    def __post_init__(self) -> None:
        check_precision(self.precision)
        check_lr(self.lr)
        check_whole("epochs", self.epochs)
        check_whole("batch_size", self.batch_size)
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
    data: str = "fashion-mnist"
    image_size: tuple[int, ...] | None = None  # an image folder's (H, W); None: the usual
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
        check_run(self)
        facts = facts_of(self)
        if self.model == "mlp":
            check_input_size(self.settings.sizes, facts, "settings.sizes")
        if self.model == "cnn":
            check_conv_images(facts, "baseline cnn", "use knn, logreg or mlp")
        check_labels(self)
        if self.model == "knn":
            check_neighbours(self)


GRAPH_FEATURES = ("sae", "pca", "sae+hog")
ROUND_LABELS = ("teacher", "graph")


@dataclass(frozen=True)
class SemiTraining:
    """Semi-supervised training (:mod:`sdae.nn.semi`): FixMatch (Sohn et al., 2020) with an EMA
    teacher on a :class:`~sdae.nn.convnets.DeepCNN` of ``width``, the labelled images and the
    protocol's whole training pool. ``iterations`` Adam steps at ``lr`` (cosine decay), each
    on ``batch_size`` labelled images and ``unlabelled_ratio`` times as many pool images; a
    pool image counts when the teacher's confidence on its weak view reaches ``threshold``.
    The strong view adds the DAE's salt-and-pepper noise at ``strong_noise`` and a cutout;
    both views mirror images left-right only where ``flip`` (``sdae semi`` turns it off for
    ``digits``: a mirrored digit is another digit, or none).
    Before training, label spreading over a ``graph_neighbors``-NN graph of the pool
    (clamping ``graph_alpha``) labels the pool, and the ``graph_per_class`` most confident
    images of each class join the labelled ones with the graph's label (0: plain FixMatch).
    The graph is built on ``graph_features``: ``sae``, the codes of the paper's 784-100
    stack pretrained on the pool (Table VII's schedule, ``graph_pretrain_iterations`` Adam
    steps), or ``pca``, ``graph_components`` principal components of the pixels.
    ``precision``: the CNN's products, as :class:`CnnSettings`'s (``auto``: bf16
    autocast where the CPU has bf16 instructions and a probe of the first step is faster).
    Each of ``rounds`` after the first starts afresh (its own seed) with, beside the given
    labels, the ``round_per_class`` pool images per class the previous round's teacher is
    surest of (``round_labels`` ``teacher``: by its predictions; ``graph``: by label spreading
    from the given labels over its last hidden layer's features); ``align`` turns on
    distribution alignment of the teacher's predictions.
    ``seed`` draws the weights and names the streams (:mod:`sdae.nn.semi`).
    """

    width: int = 16
    iterations: int = 1800
    lr: float = 0.002
    batch_size: int = 64
    unlabelled_ratio: int = 3
    threshold: float = 0.95
    ema: float = 0.99
    strong_noise: float = 0.15
    flip: bool = True
    graph_per_class: int = 50
    graph_features: str = "sae+hog"
    graph_neighbors: int = 20
    graph_alpha: float = 0.9
    graph_components: int = 50
    graph_pretrain_iterations: int = 1000
    align: bool = True
    rounds: int = 2
    round_per_class: int = 300
    round_labels: str = "graph"
    precision: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        check_optimizer("adam", self.lr, self.iterations, self.batch_size)
        for field, low in (("width", 1), ("unlabelled_ratio", 1), ("graph_per_class", 0),
                           ("rounds", 1), ("round_per_class", 1),
                           ("graph_neighbors", 1), ("graph_components", 1),
                           ("graph_pretrain_iterations", 1)):  # fmt: skip
            check_whole(field, getattr(self, field), low)
        check_precision(self.precision)
        if self.graph_features not in GRAPH_FEATURES:
            raise SdaeError(f"--graph-features {self.graph_features!r}: choose one of "
                            f"{', '.join(GRAPH_FEATURES)}")  # fmt: skip
        if self.round_labels not in ROUND_LABELS:
            raise SdaeError(f"--round-labels {self.round_labels!r}: choose one of "
                            f"{', '.join(ROUND_LABELS)}")  # fmt: skip
        if not 0.0 < self.graph_alpha < 1.0:
            raise SdaeError(f"--graph-alpha {self.graph_alpha} must lie in (0, 1)")
        if not 0.0 < self.threshold < 1.0:
            raise SdaeError(f"--threshold {self.threshold} must lie in (0, 1)")
        if not 0.0 <= self.ema < 1.0:
            raise SdaeError(f"--ema {self.ema} must lie in [0, 1)")
        check_noise("salt-and-pepper", self.strong_noise, "strong_noise")


@dataclass(frozen=True)
class SemiConfig:
    """``sdae semi``: the recipe (:class:`SemiTraining`, its fields flat here, as the command
    line's flags) on ``labels_per_class`` labelled images per class (draw ``labels_seed``) of
    the ``protocol``'s pool of ``data``."""

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
    flip: bool = True
    graph_per_class: int = 50
    graph_features: str = "sae+hog"
    graph_neighbors: int = 20
    graph_alpha: float = 0.9
    graph_components: int = 50
    graph_pretrain_iterations: int = 1000
    align: bool = True
    rounds: int = 2
    round_per_class: int = 300
    round_labels: str = "graph"
    precision: str = "auto"
    data: str = "fashion-mnist"
    image_size: tuple[int, ...] | None = None  # an image folder's (H, W); None: the usual
    protocol: str = "paper"
    seed: int = 0
    data_seed: int = 0
    device: str = "cpu"

    #: what a config.json written before these settings existed ran with (sdae <= 0.2.0)
    LEGACY: ClassVar[dict[str, object]] = {"precision": "fp32", "align": False, "rounds": 1}

    def __post_init__(self) -> None:
        if self.labels_per_class is None:
            raise SdaeError("sdae semi needs a label budget (--labels-per-class N): with all "
                            "labels use `sdae baseline cnn`")  # fmt: skip
        check_labels(self)
        self.training  # noqa: B018  (checks the recipe)
        check_graph(self)
        check_run(self)
        check_conv_images(facts_of(self), "sdae semi's CNN", "use sdae sae or a baseline")

    @property
    def training(self) -> SemiTraining:
        """The recipe of this run (its fields of :class:`SemiTraining`)."""
        return SemiTraining(**{f.name: getattr(self, f.name) for f in fields(SemiTraining)})
