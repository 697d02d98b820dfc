"""The GEMM floor: the five products of a step, and their sum over a preset."""

import pytest
import torch

import sdae.reproduce.floor
from sdae.config.flags import from_flags
from sdae.reproduce.floor import (
    conv_floor,
    conv_seconds,
    conv_work,
    flops,
    gemm_step,
    least_gemm_seconds,
    preset_floor,
    training_shapes,
)


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


def test_conv_nets_count_their_forward_and_backward_passes(monkeypatch):
    """A conv DAE counts its iterations, a CNN its epochs over its pool, each at one timed
    forward and backward pass of its model at its batch size; other configs add nothing."""
    seen = []

    def fake(model, batch, *a, **k):
        seen.append((type(model).__name__, tuple(batch.shape)))
        return 0.001

    monkeypatch.setattr(sdae.reproduce.floor, "conv_seconds", fake)
    conv = from_flags("dae", {"model": "conv", "iterations": 40, "batch_size": 16})
    cnn = from_flags("baseline", {"model": "cnn", "labels_per_class": "all", "epochs": 2,
                                  "batch_size": 100})  # fmt: skip
    mlp = from_flags("dae", {"hidden": 16, "iterations": 10})
    total = conv_floor([(conv, 600), (conv, 600), (cnn, 1000), (mlp, 600)])
    assert total == pytest.approx(0.001 * (40 + 40 + 2 * 10))
    assert seen == [("ConvAutoencoder", (16, 784)), ("DeepCNN", (100, 784))]  # each timed once


def test_conv_seconds_times_a_real_pass_and_leaves_no_gradient():
    conv = from_flags("dae", {"model": "conv", "width": 4})
    model, shape, steps = conv_work(conv, 100)
    seconds = conv_seconds(model, torch.rand(shape), repeats=1)
    assert seconds > 0 and all(p.grad is None for p in model.parameters())
    assert steps == conv.train.iterations


def test_least_gemm_seconds_takes_bf16_only_where_native(monkeypatch):
    calls = []
    monkeypatch.setattr(sdae.reproduce.floor, "gemm_seconds",
                        lambda *a, dtype=torch.float32, **k: calls.append(dtype) or
                        (1.0 if dtype == torch.float32 else 0.25))  # fmt: skip
    monkeypatch.setattr("sdae.nn.precision.native_bf16", lambda device: True)
    assert least_gemm_seconds(10, 7, 3) == 0.25
    monkeypatch.setattr("sdae.nn.precision.native_bf16", lambda device: False)
    assert least_gemm_seconds(10, 7, 3) == 1.0


def test_semi_counts_its_graph_stack_and_every_round_s_student_steps(monkeypatch):
    """sdae semi: the graph's 784-100 stack (full batch, its pretraining iterations) in the
    GEMM floor, and the student's passes over rounds x iterations steps of B (1 + ratio) rows;
    a graph on PCA, or none, pretrains no stack."""
    semi = from_flags("semi", {"labels_per_class": 1, "iterations": 7, "rounds": 2,
                               "batch_size": 8, "unlabelled_ratio": 3, "width": 4,
                               "graph_pretrain_iterations": 5})  # fmt: skip
    assert training_shapes(semi) == [(0, 784, 100, 5)]
    assert training_shapes(from_flags("semi", {"graph_features": "pca"})) == []
    assert training_shapes(from_flags("semi", {"graph_per_class": 0})) == []
    # the codes are cached: another draw or budget on the same pool and seed reads them back
    monkeypatch.setattr(sdae.reproduce.floor, "least_gemm_seconds", lambda *a, **k: 1.0)
    others = [from_flags("semi", {"labels_per_class": k, "labels_seed": d,
                                  "graph_pretrain_iterations": 5}) for k in (1, 5) for d in (0, 1)]
    assert preset_floor(others, 100) == 5.0
    assert preset_floor([*others, from_flags("semi", {"seed": 1, "graph_pretrain_iterations": 5})],
                        100) == 10.0  # fmt: skip
    model, shape, steps = conv_work(semi, 6000)
    assert type(model).__name__ == "DeepCNN" and shape == (32, 784) and steps == 14
    monkeypatch.setattr(sdae.reproduce.floor, "conv_seconds", lambda *a, **k: 0.001)
    assert conv_floor([(semi, 6000)]) == pytest.approx(0.014)
