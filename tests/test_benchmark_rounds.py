"""benchmarks/rounds.py: a benchmark keeps its fastest round and refuses to print a figure
when its rounds say the machine was too busy (spread over the limit, or a share above 1)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import rounds  # noqa: E402


def test_spread_is_slowest_over_fastest():
    assert rounds.spread([2.0, 2.5, 3.0]) == pytest.approx(0.5)
    assert rounds.spread([1.0]) == 0.0


def test_quiet_rounds_pass_and_noisy_ones_are_named():
    assert rounds.noise_reasons({"a": [1.0, 1.1, 1.2]}) == []
    assert rounds.noise_reasons({"a": [1.0, 1.3], "b": [1.0, 1.01]}) == ["a spread 30%"]
    assert rounds.noise_reasons({"a": [1.0, 1.3]}, max_spread=0.5) == []


def test_a_share_above_one_is_noise():
    """The busy-machine case seen before: shares of 2.06 and 0.23 for the same code."""
    reasons = rounds.noise_reasons({"step": [1.0, 1.05]}, shares={"784-256-784": [0.7, 2.06]})
    assert reasons == ["784-256-784 share 2.06 > 1 (GEMMs slower than the step)"]


def test_refusing_is_one_line_and_exit_status_3(capsys):
    assert rounds.refuse(["a spread 30%"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "too noisy" in err and "a spread 30%" in err
