"""What the benchmarks share: the spread of repeated rounds, and the refusal to print a
figure when the spread says the machine was too busy to measure (issue "The paper in 15
minutes": a benchmark must say so, not print a number).

A round's time is the least the work took plus whatever else the machine did meanwhile, so
each benchmark keeps its *fastest* round and reports the spread ``(slowest - fastest) /
fastest`` beside it. Above ``max_spread`` (0.25 by default) the rounds disagree too much for
their fastest to mean anything, and a share of a step's time above 1.0 (its GEMMs slower than
the whole step) is impossible on a quiet machine: both are noise.
"""

from __future__ import annotations

import sys

MAX_SPREAD = 0.25
#: the exit status of a benchmark that refused to print a figure
NOISY = 3


def spread(values) -> float:
    """``(max - min) / min`` of positive values."""
    values = list(values)
    return (max(values) - min(values)) / min(values)


def noise_reasons(timings: dict[str, list[float]], max_spread: float = MAX_SPREAD,
                  shares: dict[str, list[float]] | None = None) -> list[str]:  # fmt: skip
    """Why these rounds cannot be trusted (empty: they can): each named series whose spread
    exceeds ``max_spread``, and each share above 1.0."""
    reasons = [f"{name} spread {spread(v):.0%}" for name, v in timings.items()
               if len(v) > 1 and spread(v) > max_spread]  # fmt: skip
    for name, values in (shares or {}).items():
        if max(values) > 1.0:
            reasons.append(f"{name} share {max(values):.2f} > 1 (GEMMs slower than the step)")
    return reasons


def refuse(reasons: list[str], max_spread: float = MAX_SPREAD) -> int:
    """Say in one line on stderr that the machine is too noisy; the exit status to return."""
    print(f"the machine is too noisy to measure ({'; '.join(reasons)}; limit "
          f"{max_spread:.0%}): no figure printed; try again when it is idle", file=sys.stderr)
    return NOISY
