"""Every check of a setting, in one place: ranges, names, and the checks across fields and
against the data (labels per class against the protocol's pool, ``k`` against the labelled
images, graph sizes against the pool and the pixels). Each raises :class:`SdaeError` with
one line that names the flag (or, from :mod:`sdae.sklearn`, the parameter) and says how to fix
it. Also the tables of names the settings choose from (noises and their ranges, optimizers,
schedules, augmentations): the functions behind the names live in :mod:`sdae.nn`, found
there by these names, so there is one table of each. Torch-free.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from sdae.data.protocols import PROTOCOLS
from sdae.data.sizes import SIZE_HELP, parse_image_size
from sdae.data.sources import FASHION_FACTS, SourceFacts, source_facts
from sdae.devices import check_device
from sdae.errors import SdaeError, SettingError
from sdae.rng import check_seed

OPTIMIZERS = ("sgd", "adam")


SCHEDULES = ("constant", "cosine", "onecycle")


# noise name -> (lowest level, highest level); the functions are in sdae.nn.noise
NOISE_LEVELS: dict[str, tuple[float, float]] = {
    "salt-and-pepper": (0.0, 0.5),
    "salt-and-pepper-fresh": (0.0, 0.5),
    "impulse": (0.0, 1.0),
    "masking": (0.0, 1.0),
    "gaussian": (0.0, 1.0),
}


AUGMENT_NAMES = ("flip", "shift")  # the functions are in sdae.nn.augment


def check_noise(kind: str, level: float, field: str = "noise_level",
                kind_field: str = "noise") -> None:
    """Raise :class:`SettingError` unless ``kind`` is known and ``level`` within its range
    (``field`` / ``kind_field``: the settings that hold them, named in the message)."""
    if kind not in NOISE_LEVELS:
        raise SettingError(kind_field, f"unknown {{name}} {kind!r}; choose one of "
                           f"{', '.join(NOISE_LEVELS)}")  # fmt: skip
    low, high = NOISE_LEVELS[kind]
    if not (low <= level <= high):  # also rejects NaN
        raise SettingError(field, f"{{name}} {level} is outside [{low}, {high}] for {kind} "
                           "noise")  # fmt: skip


def check_noise_range(kind: str, low: float, high: float, field: str = "noise_level") -> None:
    """A range of levels ``low:high`` (each image's level drawn in it): both ends within
    ``kind``'s range, and ``low`` below ``high``; named by ``field`` as :func:`check_noise`."""
    check_noise(kind, low, field)
    check_noise(kind, high, field)
    if not low < high:
        fix = f"write {high}:{low}" if low > high else f"give the one level {high}"
        raise SettingError(field, f"{{name}} {low}:{high}: a range's low end must be below its "
                           f"high end; {fix}")  # fmt: skip


def parse_noise_level(value: object, flag: str = "--train-noise") -> float | tuple[float, float]:
    """``0.3`` (or ``"0.3"``) -> 0.3; ``"0.02:0.7"`` (or ``(0.02, 0.7)``) -> ``(0.02, 0.7)``,
    a range; the levels are checked against the noise by the config. Anything else is one
    :class:`SdaeError` line."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    parts = list(value) if isinstance(value, (tuple, list)) else str(value).split(":")
    try:
        levels = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        levels = ()
    if len(levels) not in (1, 2) or isinstance(value, bool):
        raise SdaeError(f"{flag} {value!r}: give a level, such as 0.3, or a range LOW:HIGH, "
                        "such as 0.02:0.7")  # fmt: skip
    return levels[0] if len(levels) == 1 else (levels[0], levels[1])


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


def check_schedule(name: str, field: str = "schedule") -> None:
    if name not in SCHEDULES:
        raise SettingError(field, f"unknown {{name}} {name!r}; choose one of "
                           f"{', '.join(SCHEDULES)}")  # fmt: skip


def check_lr(lr: float, field: str = "lr", zero_ok: bool = False) -> None:
    """A learning rate: finite and > 0 (or >= 0 where 0 freezes some weights and another
    rate trains the rest)."""
    low = ">= 0" if zero_ok else "above 0"
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) \
            or lr < 0 or (lr == 0 and not zero_ok):  # fmt: skip
        why = "" if zero_ok or lr != 0 else " (0 would train nothing)"
        raise SettingError(field, f"{{name}} {lr!r} must be a finite number {low}{why}")


def check_optimizer(name: str, lr: float | None, iterations: int, batch_size: int) -> None:
    """The settings every optimized training has, by their field names ``optimizer``,
    ``lr`` (None: checked by the caller), ``iterations``, ``batch_size`` (0 = full batch)."""
    if name not in OPTIMIZERS:
        raise SettingError("optimizer", f"unknown {{name}} {name!r}; choose one of "
                           f"{', '.join(OPTIMIZERS)}")  # fmt: skip
    if lr is not None:
        check_lr(lr)
    check_whole("iterations", iterations, 1)
    check_whole("batch_size", batch_size, 0, " (0 = full batch)")


def check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise SdaeError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")


def check_run(config) -> None:
    """What every config shares: protocol, seeds, device; its data, where it names one
    (read now, so that a source that cannot be used is refused before any work)."""
    check_protocol(config.protocol)
    check_seed(config.seed, "--seed")
    check_seed(config.data_seed, "--data-seed")
    check_device(config.device)
    check_image_size(getattr(config, "image_size", None))
    pool_per_class(config.protocol, facts_of(config))


def check_labels(config) -> None:
    check_seed(config.labels_seed, "--labels-seed")
    n = config.labels_per_class
    if n is None:
        return
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SdaeError(f"--labels-per-class {n!r}: give a whole number >= 1 or 'all'")
    per_class = pool_per_class(config.protocol, facts_of(config))
    if n > per_class:
        bigger = "" if config.protocol == "full" else ", or use --protocol full"
        raise SettingError("labels_per_class", f"{{name}} {n} is more than the {per_class} "
                           f"images per class in the {config.protocol} protocol's pool; ask "
                           f"for fewer{bigger}")  # fmt: skip


def facts_of(config) -> SourceFacts:
    """The facts of the data ``config`` reads (its ``data`` at its ``image_size``;
    Fashion-MNIST without one)."""
    size = getattr(config, "image_size", None)
    return source_facts(getattr(config, "data", "fashion-mnist"), config.data_seed,
                        None if size is None else tuple(size))  # fmt: skip


def check_image_size(size) -> None:
    """``image_size``: None, or ``(H, W)`` with sides 1 to :data:`MAX_SIDE`."""
    if size is not None and (not isinstance(size, tuple) or len(size) != 2):
        raise SettingError("image_size", f"{{name}} {size!r}: {SIZE_HELP}")
    if size is not None:
        parse_image_size("x".join(map(str, size)))


#: the smallest side a conv network takes: two 2x2 poolings leave 2x2
MIN_CONV_SIDE = 8


def check_conv_images(facts: SourceFacts, what: str, instead: str) -> None:
    """A conv network takes ``facts``' images if they are at least 8x8 with 1 to 4 channels;
    else one line naming ``what`` and, as the way out, ``instead``."""
    shape = facts.image_shape
    if min(shape[:2]) < MIN_CONV_SIDE or (len(shape) == 3 and not 1 <= shape[2] <= 4):
        raise SdaeError(f"{what} takes images of at least {MIN_CONV_SIDE}x{MIN_CONV_SIDE} with 1 "
                        f"to 4 channels, and those of {facts.name} are {facts.image_text()}s; "
                        f"{instead}")  # fmt: skip


def pool_per_class(protocol: str, facts: SourceFacts = FASHION_FACTS) -> int:
    """Images per class in ``protocol``'s training pool of the data (Fashion-MNIST has 6000
    of each): ``paper`` 600, ``mini`` 100, ``full`` the smallest class's count. A protocol
    larger than a class of the data raises :class:`SettingError`."""
    fewest, size = min(facts.train_per_class), PROTOCOLS[protocol][0]
    if size is None:
        return fewest
    if size > fewest:
        raise SettingError("protocol", f"{{name}} {protocol} takes {size} training images per "
                           f"class, and the smallest class of {facts.name} has {fewest}; use "
                           "--protocol full (every image) or mini (100 per class)")
    return size


GRAPH_SHARE, ROUND_SHARE = 1 / 12, 1 / 2  # of a class's pool images: see semi_counts


def semi_counts(pool_per_class: int, labels_per_class: int) -> dict[str, int]:
    """``sdae semi``'s ``graph_per_class`` and ``round_per_class`` for ``pool_per_class``
    pool images per class: those shares of it (50 / 300 of the paper protocol's 600, 500 /
    3000 of the full one's 6000; at least 1, the graph's at most what the draw leaves
    unlabelled). 0.3.0's fixed 50 / 300 took the surest 0.8 % / 5 % of the full pool: the
    shares did better on its validation draws (docs/semi.md)."""
    free = pool_per_class - labels_per_class
    return {"graph_per_class": max(0, min(round(pool_per_class * GRAPH_SHARE), free)),
            "round_per_class": max(1, round(pool_per_class * ROUND_SHARE))}


def check_input_size(sizes: tuple[int, ...], facts: SourceFacts, field: str = "sizes") -> None:
    """An MLP's first size is the data's pixels (times channels)."""
    if sizes[0] != facts.n_features:
        arch = "-".join(map(str, sizes))
        hint = "-".join(map(str, (facts.n_features, *sizes[1:])))
        raise SettingError(field, f"{{name}} {arch} must start with {facts.n_features}, the "
                           f"values of one {facts.image_text()} of {facts.name} (e.g. {hint})")


def check_graph(config) -> None:
    """``sdae semi``'s graph against its pool: the images it may label per class are those
    the draw left unlabelled, and PCA has at most as many components as pixels."""
    facts = facts_of(config)
    free = pool_per_class(config.protocol, facts) - config.labels_per_class
    if config.graph_per_class > free:
        raise SettingError("graph_per_class", f"{{name}} {config.graph_per_class} is more than "
                           f"the {free} unlabelled images per class of the {config.protocol} "
                           f"protocol's pool ({free + config.labels_per_class} per class, "
                           f"{config.labels_per_class} labelled); ask for at most {free}")
    if config.graph_components > facts.n_features:
        raise SettingError("graph_components", f"{{name}} {config.graph_components} is more "
                           f"than the {facts.n_features} pixels of an image; ask for at most "
                           f"{facts.n_features}")  # fmt: skip


def check_neighbours(config) -> None:
    """k-NN's ``k`` against the labelled images: with ``k`` as large as their number every
    test image gets the same neighbours, and so the same class."""
    facts = facts_of(config)
    per_class = config.labels_per_class or pool_per_class(config.protocol, facts)
    n, k = facts.n_classes * per_class, config.settings.k
    if k >= n:
        raise SettingError("settings.k", f"{{name}} {k} is not below the {n} labelled images "
                           f"({facts.n_classes} classes x {per_class}): every test image would get "
                           f"the same class; choose {{name}} {n - 1} or fewer, or more "
                           "--labels-per-class")  # fmt: skip


def check_sizes(sizes: tuple[int, ...]) -> None:
    arch = "-".join(map(str, sizes))
    if len(sizes) < 2:
        raise SdaeError(f"--arch {arch!r} has one layer; give the input and at least one "
                        "hidden size, e.g. 784-100")  # fmt: skip
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


def check_whole(field: str, value: object, low: int = 1, note: str = "") -> None:
    """A count setting: an int (not a bool) of at least ``low``, else one line."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise SettingError(field, f"{{name}} must be a whole number >= {low}{note}, not "
                           f"{value!r}")  # fmt: skip
