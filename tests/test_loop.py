"""TrainingLoop, the bookkeeping every training loop shares: the optimizer and its schedule,
the cost history, the NaN check every REPORT_EVERY steps, a rank's share of a step."""

import math

import pytest
import torch

from sdae.errors import SdaeError
from sdae.nn.loop import REPORT_EVERY, Shard, TrainingLoop


def _run(costs, *, schedule="constant", lr=0.1, hint="lower the learning rate"):
    """Steps of plain SGD on ``w`` (cost ``c * w``, so the gradient is ``c``); the rate each
    step used, the loop and ``w``."""
    w = torch.nn.Parameter(torch.zeros(1))
    rates = []
    with TrainingLoop([([w], lr)], "sgd", iterations=len(costs), schedule=schedule,
                      lr_hint=hint) as loop:  # fmt: skip
        for i, c in enumerate(costs):
            rates.append(loop.optimizer.param_groups[0]["lr"])
            loop.zero_grad()
            cost = c * w.sum() + c
            cost.backward()
            loop.step(i, cost)
    return rates, loop, w


def test_steps_the_optimizer_and_returns_the_history_as_floats():
    rates, loop, w = _run([1.0, 2.0, 0.5])
    # the cost c (w + 1) at the w before each step: w = 0, -0.1, -0.3
    assert loop.history == pytest.approx([1.0, 2 * 0.9, 0.5 * 0.7])
    assert all(type(h) is float for h in loop.history)
    assert w.item() == pytest.approx(-0.1 * 3.5)  # w -= lr * c at every step
    assert rates == [0.1] * 3


def test_the_schedule_is_stepped_after_every_step():
    """Cosine: step k of T uses lr (1 + cos(pi k / T)) / 2."""
    rates, _, _ = _run([1.0] * 4, schedule="cosine", lr=0.8)
    assert rates == pytest.approx([0.8 * (1 + math.cos(math.pi * k / 4)) / 2 for k in range(4)])


def test_nan_is_an_error_naming_the_iteration_of_the_check():
    """The cost is looked at every REPORT_EVERY steps (a device sync): a NaN at step 10 is
    reported at the check of step REPORT_EVERY, with the loop's advice."""
    costs = [1.0] * 9 + [float("nan")] * 40
    seen = []
    with pytest.raises(SdaeError, match=f"the cost became nan at iteration {REPORT_EVERY}; "
                                        "lower --lr"):  # fmt: skip
        w = torch.nn.Parameter(torch.zeros(1))
        with TrainingLoop([([w], 0.1)], "sgd", iterations=len(costs), lr_hint="lower --lr") \
                as loop:  # fmt: skip
            for i, c in enumerate(costs):
                seen.append(i)
                loop.step(i, torch.tensor(c))
    assert seen[-1] == REPORT_EVERY - 1


def test_the_last_step_is_always_checked():
    with pytest.raises(SdaeError, match="became (nan|inf) at iteration 7; lower the learning"):
        _run([1.0] * 6 + [float("inf")])


def test_one_process_holds_every_row():
    assert TrainingLoop.shard(7) == Shard(slice(0, 7), 1.0)
