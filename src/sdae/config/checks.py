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
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sdae.errors import SdaeError

if TYPE_CHECKING:
    pass
from sdae.data.protocols import PROTOCOLS
from sdae.devices import check_device
from sdae.rng import check_seed

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


def check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise SdaeError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")


def check_run(config) -> None:
    """What every config shares: protocol, seeds, device."""
    check_protocol(config.protocol)
    check_seed(config.seed, "--seed")
    check_seed(config.data_seed, "--data-seed")
    check_device(config.device)


def check_labels(config) -> None:
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


def check_whole(flag: str, value: object, low: int = 1) -> None:
    """A count setting: an int (not a bool) of at least ``low``, else one line."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise SdaeError(f"{flag} must be a whole number >= {low}, not {value!r}")
