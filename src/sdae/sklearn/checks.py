"""What the estimators of :mod:`sdae.sklearn` check and share: parameters checked as the
command line checks them (the same one-line messages, as ``ValueError`` naming the
parameter), inputs checked to lie in [0, 1], seeds, devices, and batched inference.

Both estimators call the training code the command line runs (:mod:`sdae.nn.training`) with
the same settings (:mod:`sdae.config.training`), the same models (:mod:`sdae.nn.models`,
weights drawn by :func:`sdae.nn.models.seeded`) and the same named random streams
(:class:`sdae.rng.Streams`): an integer ``random_state`` is a ``--seed``, and gives the
weights ``sdae dae`` / ``sdae sae`` would give on the same data and settings.

**Inputs.** ``X`` is ``[n_samples, n_features]`` of numbers in [0, 1] (pixels / 255, or any
features scaled to that range): the reconstruction cost is the cross-entropy of the paper's
equation (2), which treats every feature as the probability of a Bernoulli variable. Values
outside [0, 1] are refused with a ``ValueError``; scale them first, e.g. with
``sklearn.preprocessing.MinMaxScaler(clip=True)`` in a ``Pipeline`` (``clip=True`` keeps rows
unseen in ``fit`` inside [0, 1] too). Only rounding errors, values at most
``UNIT_TOLERANCE`` (1e-5) outside the range, are clipped into it (a copy; ``X`` is never
changed). NaN and infinity are refused.
Computation runs in float32 on ``device``; results come back as numpy arrays on the CPU.

**Parameters** are stored unchanged by ``__init__`` and checked by ``fit``: a bad value raises
``ValueError`` with the same one-line message the command line prints for it.

Needs scikit-learn >= 1.6 (``validate_data`` and ``__sklearn_tags__``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import sklearn
import torch
from sklearn.utils import check_random_state

try:
    from sklearn.utils.validation import validate_data  # noqa: F401  (for the estimators)
except ImportError as exc:  # scikit-learn < 1.6
    raise ImportError(
        f"sdae.sklearn needs scikit-learn >= 1.6 (found {sklearn.__version__}); "
        "upgrade it: pip install -U 'scikit-learn>=1.6'"
    ) from exc
from sdae.config.checks import check_whole
from sdae.devices import check_device
from sdae.errors import SdaeError, SettingError
from sdae.rng import check_seed

#: rows per forward pass when transforming / predicting (bounds the memory of large inputs)
PREDICT_BATCH = 8192


SEED_DRAW = 2**31  # a seed drawn for random_state=None / a RandomState lies in [0, 2**31)


#: how far outside [0, 1] a value may lie and be clipped as a rounding error (MinMaxScaler
#: in float32 overshoots 1 by up to ~4e-6) instead of refused
UNIT_TOLERANCE = 1e-5


@contextmanager
def as_value_error(names: dict[str, str] | None = None) -> Iterator[None]:
    """sdae's own one-line errors (bad settings, a diverging cost) as the ``ValueError``
    scikit-learn's conventions and checks expect: the command line's message, naming the
    estimator's parameter (``names``: setting field -> parameter, where they differ)."""
    try:
        yield
    except SettingError as exc:
        raise ValueError(str(exc.renamed(names or {}))) from exc
    except SdaeError as exc:
        raise ValueError(str(exc)) from exc


def check_int(value, name: str, low: int) -> int:
    """A count parameter, checked as the command line checks it (numpy integers too)."""
    with as_value_error():
        check_whole(name, value, low)
    return int(value)


def check_float(value, name: str) -> float:
    """A real number (the settings check its range, with the command line's message)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, not {value!r}")
    return float(value)


def check_bool(value, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, not {value!r}")
    return bool(value)


def seed_of(random_state) -> int:
    """The sdae seed of a fit: an int is used as it is (a ``--seed``); None or a
    ``RandomState`` draws one from that generator (None: numpy's global one)."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        with as_value_error():
            check_seed(int(random_state), "random_state")
        return int(random_state)
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return int(check_random_state(random_state).randint(SEED_DRAW))
    raise ValueError(f"random_state must be None, a whole number from 0 to 2**63 - 1 or a "
                     f"numpy RandomState, not {random_state!r}")  # fmt: skip


def device_of(device) -> str:
    with as_value_error():
        check_device(device)
    return device


def unit_interval(X: np.ndarray, who: str) -> np.ndarray:
    """``X``, once checked to lie in [0, 1], the range the cross-entropy cost (paper eq. 2)
    is defined on; otherwise a ``ValueError`` telling how to scale it. Rounding errors of a
    scaler (up to ``UNIT_TOLERANCE`` outside the range) are clipped, into a copy."""
    if X.size == 0:
        return X
    low, high = float(X.min()), float(X.max())
    if low < -UNIT_TOLERANCE or high > 1.0 + UNIT_TOLERANCE:
        what = "Negative values in data" if low < 0.0 else "Values above 1 in data"
        raise ValueError(
            f"{what} passed to {who}: X lies in [{low:.4g}, {high:.4g}] but must lie in "
            "[0, 1] (the cross-entropy cost, paper eq. 2, needs it); scale it first, e.g. with "
            "sklearn.preprocessing.MinMaxScaler(clip=True) in a Pipeline, or pixels / 255"
        )
    return np.clip(X, 0.0, 1.0) if low < 0.0 or high > 1.0 else X


def run_batches(fn: Callable[[torch.Tensor], torch.Tensor], X: np.ndarray,
                device: str, dtype=np.float32) -> np.ndarray:
    """``fn`` over the rows of ``X`` in ``dtype`` on ``device``, ``PREDICT_BATCH`` rows at a
    time; the result as a numpy array on the CPU."""
    parts = []
    with torch.no_grad():
        for start in range(0, len(X), PREDICT_BATCH):
            xb = np.ascontiguousarray(X[start : start + PREDICT_BATCH], dtype=dtype)
            parts.append(fn(torch.from_numpy(xb).to(device)).cpu().numpy())
    return np.concatenate(parts)


def to_tensor(X: np.ndarray, device: str) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(device)
