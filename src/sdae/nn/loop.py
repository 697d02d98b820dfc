"""What every training loop shares: :class:`TrainingLoop`, the bookkeeping of a run (the
optimizer and its learning-rate schedule, a rank's share of each step under ``torchrun``,
the cost history, the progress bar and the NaN check), and minibatches
(:func:`batch_indices`). The loops themselves, plain ``for`` loops over
:class:`TrainingLoop`, are in :mod:`sdae.nn.training` (autoencoders, fine-tuning: paper
§IV.B-C) and :mod:`sdae.nn.semi` (FixMatch).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import torch
from torch import nn
from tqdm.auto import tqdm

from sdae.errors import SdaeError
from sdae.failpoints import failpoint
from sdae.nn import distributed

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


class Shard(NamedTuple):
    """This rank's part of a step's ``n`` rows: ``rows``, a contiguous slice (all of them in
    one process), and ``share`` = its length / ``n`` (1.0 in one process)."""

    rows: slice
    share: float


class History(list):
    """The cost of every step, a list of floats as before, and ``precision``: what the
    training's products ran in (``fp32`` or ``bf16``, :mod:`sdae.nn.precision`)."""

    def __init__(self, costs, precision: str = "fp32") -> None:
        super().__init__(costs)
        self.precision = precision


class TrainingLoop:
    """The bookkeeping of one training run, the same for every loop of :mod:`sdae.nn`; the
    loop itself stays a plain ``for`` in the caller::

        with TrainingLoop([(params, lr)], "adam", iterations=T, desc="fine-tune") as loop:
            for i in range(T):
                xb, yb = ...                    # the whole step's batch, drawn on every rank
                mine = loop.shard(len(xb))      # this rank's rows: all of them in one process
                loop.zero_grad()
                cost = F.cross_entropy(model(xb[mine.rows]), yb[mine.rows])
                cost.backward()
                loop.step(i, cost, mine.share)
        history = loop.history

    ``groups``: ``(parameters, learning rate)`` pairs (:func:`make_optimizer`), ``optimizer``
    ``sgd`` or ``adam``, ``schedule`` one of :func:`lr_schedule`'s over ``iterations``
    steps; ``desc`` and ``progress`` the bar's, ``lr_hint`` the advice a NaN cost's error
    ends with. ``buffers`` (batch-norm running statistics) are kept the same on every rank.
    A loop that writes ``.grad`` itself (:func:`sdae.nn.training.closed_form_step`) calls
    neither ``zero_grad`` nor ``backward``. Subnormal floats are flushed inside the
    ``with`` (:func:`flush_denormals`). ``precision`` (``fp32`` | ``bf16``) is what the
    caller runs the products in, kept in :attr:`history`.
    """

    def __init__(self, groups: Sequence[tuple[list[nn.Parameter], float]], optimizer: str, *,
                 iterations: int, schedule: str = "constant", desc: str = "training",
                 progress: bool = False, lr_hint: str = "lower the learning rate",
                 buffers: Iterable[torch.Tensor] = (),
                 precision: str = "fp32") -> None:  # fmt: skip
        self.precision = precision
        self.params = [p for ps, _ in groups for p in ps]
        self.optimizer = make_optimizer(groups, optimizer)
        self.schedule = lr_schedule(self.optimizer, schedule, iterations)
        self.buffers = list(buffers)
        self.costs = torch.empty(iterations, device=self.params[0].device)  # [iterations]
        self.iterations, self.desc, self.progress, self.lr_hint = \
            iterations, desc, progress, lr_hint  # fmt: skip
        self._context = contextlib.ExitStack()

    def __enter__(self) -> TrainingLoop:
        self._context.enter_context(flush_denormals())
        self.bar = self._context.enter_context(Progress(self.iterations, self.desc,
                                                        self.progress))  # fmt: skip
        return self

    def __exit__(self, *exc) -> None:
        self._context.close()

    @staticmethod
    def shard(n: int) -> Shard:
        """This rank's contiguous share of a step's ``n`` rows (:func:`distributed.shard`)."""
        rows = distributed.shard(n)
        return Shard(rows, (rows.stop - rows.start) / n)

    def zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)

    def step(self, i: int, cost: torch.Tensor, share: float = 1.0) -> None:
        """Finish step ``i`` (from 0), its gradients in the parameters' ``.grad``: under
        ``torchrun``, sum the gradients and the scalar ``cost`` over the ranks, each
        weighted by ``share`` (this rank's cost is a mean over its rows: ``share`` is
        :meth:`shard`'s; a cost already weighted, a sum of terms over different counts, takes
        1), so every rank applies the whole step's update; step the optimizer and the
        schedule; record the step's cost; every :data:`REPORT_EVERY` steps and at the last,
        update the bar and raise :class:`SdaeError` if the cost is not finite. Never waits
        for the device between checks."""
        distributed.reduce_gradients(self.params, share)  # nothing in one process
        cost = distributed.reduce_cost(cost, share)
        self.optimizer.step()
        if self.schedule is not None:
            self.schedule.step()
        distributed.broadcast_buffers(self.buffers)
        self.costs[i] = cost.detach()
        self.bar.update(i, self.costs, self.lr_hint)

    @property
    def history(self) -> History:
        """The cost of every step, one float each (the steps not run yet are undefined)."""
        return History(self.costs.tolist(), self.precision)
