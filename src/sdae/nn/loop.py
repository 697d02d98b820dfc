"""What every training loop shares: the optimizer, the learning-rate schedule, minibatches,
subnormal flushing and :class:`Progress` (the bar, the cost checked for NaN every
:data:`REPORT_EVERY` steps). The loops themselves are in :mod:`sdae.nn.training` and
:mod:`sdae.nn.semi`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from sdae.errors import SdaeError
from sdae.failpoints import failpoint

REPORT_EVERY = 25  # iterations between progress-bar updates and NaN checks


def make_optimizer(groups: Sequence[tuple[list[nn.Parameter], float]], name: str):
    """An optimizer over ``(parameters, learning rate)`` groups."""
    param_groups = [{"params": ps, "lr": lr} for ps, lr in groups if ps]
    if name == "sgd":
        return torch.optim.SGD(param_groups, lr=param_groups[0]["lr"])
    # fused Adam runs the whole update in one kernel: ~1.2x faster steps at batch 128 here.
    return torch.optim.Adam(param_groups, lr=param_groups[0]["lr"], fused=True)


def lr_schedule(opt, schedule: str, iterations: int):
    """The learning-rate schedule to step after each optimizer step (None: constant).
    ``onecycle``: warm up from lr / 25 to lr over the first 20 % of the steps, then anneal
    (Smith & Topin, 2019)."""
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=iterations)
    if schedule == "onecycle":
        rates = [g["lr"] for g in opt.param_groups]
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=rates, total_steps=iterations,
                                                   pct_start=0.2)  # fmt: skip
    return None


def batch_indices(
    n: int, batch_size: int, generator: torch.Generator
) -> Iterator[torch.Tensor | None]:
    """Endless minibatch index tensors, reshuffled every epoch; ``None`` means full batch."""
    if batch_size == 0 or batch_size >= n:
        while True:
            yield None
    while True:
        perm = torch.randperm(n, generator=generator, device=generator.device)
        for start in range(0, n, batch_size):
            yield perm[start : start + batch_size]


@contextlib.contextmanager
def flush_denormals():
    """Treat subnormal floats as 0 while training (CPU only; restored afterwards).

    Saturated sigmoids make gradients subnormal, and x86 arithmetic on subnormals is slow:
    flushing them made a fine-tuning run 2x faster here. Their size (< 1.2e-38) is far below
    anything that changes a weight.
    """
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


class Progress:
    """A tqdm bar showing the current cost, refreshed every few iterations; also where
    costs are checked for NaN (a check costs a device sync, so not every step)."""

    def __init__(self, total: int, desc: str, show: bool) -> None:
        self.bar = tqdm(total=total, desc=desc, disable=not show, leave=False, mininterval=0.5)
        self.desc, self.done = desc, 0

    def update(self, i: int, history: torch.Tensor, lr_hint: str) -> None:
        if (i + 1) % REPORT_EVERY and i + 1 != len(history):
            return
        cost = float(history[i])
        failpoint(f"iteration {self.desc} {i + 1}")
        if not math.isfinite(cost):
            raise SdaeError(f"the cost became {cost} at iteration {i + 1}; {lr_hint}")
        self.bar.update(i + 1 - self.done)
        self.done = i + 1
        self.bar.set_postfix(cost=f"{cost:.4g}", refresh=False)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()
