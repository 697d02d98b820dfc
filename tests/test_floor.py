"""The GEMM floor: the five products of a step, and their sum over a preset."""

import pytest
import torch

import sdae.reproduce.floor
from sdae.config.flags import from_flags
from sdae.reproduce.floor import flops, gemm_step, preset_floor, training_shapes


def test_flops_of_a_step_are_ten_n_d_h():
    assert flops(6000, 784, 256) == 10 * 6000 * 784 * 256


def test_gemm_step_runs_the_five_products_at_the_steps_shapes(monkeypatch):
    shapes = []
    for name in ("mm", "addmm"):
        real = getattr(torch, name)

        def spy(*args, _real=real, **kw):
            mats = [a for a in args if isinstance(a, torch.Tensor) and a.dim() == 2]
            shapes.append(tuple(tuple(m.shape) for m in mats[-2:]))
            return _real(*args, **kw)

        monkeypatch.setattr(torch, name, spy)
    gemm_step(12, 7, 3)()
    assert shapes == [((12, 7), (7, 3)), ((12, 3), (3, 7)), ((7, 12), (12, 3)),
                      ((12, 7), (7, 3)), ((3, 12), (12, 7))]  # fmt: skip


def test_preset_floor_sums_iterations_times_each_shapes_time(monkeypatch):
    monkeypatch.setattr(sdae.reproduce.floor, "gemm_seconds",
                        lambda n, d, h, *a, **k: n * d * h * 1e-9)
    dae = from_flags("dae", {"hidden": 16, "iterations": 10})
    sae = from_flags("sae", {"arch": "784-20-8", "pretrain_iterations": (3, 5)})
    assert training_shapes(sae) == [(0, 784, 20, 3), (0, 20, 8, 5)]
    expected = 100 * 1e-9 * (10 * 784 * 16 + 3 * 784 * 20 + 5 * 20 * 8)
    assert preset_floor([dae, sae], 100) == pytest.approx(expected)
    assert preset_floor([from_flags("baseline", {"model": "knn"})], 100) == 0.0


def test_the_floor_leaves_out_conv_dae_and_counts_a_minibatch_s_rows(monkeypatch):
    """A conv DAE's work is convolutions: it adds nothing (it once counted as 3750 full-batch
    784-256 steps); a minibatch MLP step multiplies its batch's rows, not the pool's."""
    monkeypatch.setattr(sdae.reproduce.floor, "gemm_seconds",
                        lambda n, d, h, *a, **k: n * d * h * 1e-9)
    conv = from_flags("dae", {"model": "conv"})
    assert training_shapes(conv) == [] and preset_floor([conv], 6000) == 0.0
    mini = from_flags("dae", {"hidden": 16, "iterations": 10, "batch_size": 128})
    assert training_shapes(mini) == [(128, 784, 16, 10)]
    assert preset_floor([mini], 6000) == pytest.approx(10 * 128 * 784 * 16 * 1e-9)
