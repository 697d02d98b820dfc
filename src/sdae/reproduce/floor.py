"""The GEMM floor: how fast this machine does the matrix products a training step needs.

A full-batch autoencoder step on ``x: [N, D]`` with ``H`` hidden units is five GEMMs
(paper §IV.B, :func:`sdae.nn.training.closed_form_step`)::

    h   = s(x~ W^T + b)        addmm  [N, D] x [D, H]
    z   = h W'^T + b'          addmm  [N, H] x [H, D]
    dW' = dz^T h               mm     [D, N] x [N, H]
    dh  = dz W'                mm     [N, D] x [D, H]
    dW  = da^T x~              mm     [H, N] x [N, D]

that is ``10 N D H`` floating-point operations; everything else a step does (noise, sigmoid,
cost, Adam) is overhead on top of them. :func:`gemm_seconds` times these five products alone,
at the same shapes and threads, and :func:`preset_floor` sums them over the DAE trainings
and layer-wise pretrainings of a ``sdae reproduce`` preset: the time no implementation of
the same math on this machine can beat. Fine-tuning (a few labelled images) and the
baselines are not counted: their products are too small to say anything. Nor are the conv
DAEs and the CNN: their work is convolutions, not these five GEMMs (counting a conv DAE as
that many 784-256 full-batch steps, as this floor once did, put the paper preset's floor at
twice its MLP trainings' real GEMM time); the floor is the MLP autoencoders' alone, and the
report says so. A minibatch training counts its batch's rows per step, not the pool's.
"""

from __future__ import annotations

import statistics
import time

import torch

from sdae.config.checks import facts_of


def flops(n: int, d: int, h: int) -> int:
    """Floating-point operations of one step's five GEMMs."""
    return 10 * n * d * h


def gemm_step(n: int, d: int, h: int, device: str = "cpu"):
    """A function that runs the five GEMMs of one ``[n, d] -> h`` step, into buffers
    allocated once (like a training loop that reuses its memory)."""

    g = torch.Generator(device=device).manual_seed(0)

    def rand(*shape):
        return torch.rand(shape, generator=g, device=device)

    x, w, b, w2, b2 = rand(n, d), rand(h, d), rand(h), rand(d, h), rand(d)
    hid, z, dw2, dh, dw = (torch.empty(s, device=device)
                           for s in ((n, h), (n, d), (d, h), (n, h), (h, d)))  # fmt: skip

    def step() -> None:
        torch.addmm(b, x, w.t(), out=hid)
        torch.addmm(b2, hid, w2.t(), out=z)
        torch.mm(z.t(), hid, out=dw2)
        torch.mm(z, w2, out=dh)
        torch.mm(dh.t(), x, out=dw)

    return step


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_per_call(fn, repeats: int, device: str = "cpu") -> float:
    """Seconds per call of ``fn``: the median of ``repeats`` timed calls after one warm-up."""
    fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gemm_seconds(n: int, d: int, h: int, repeats: int = 5, device: str = "cpu") -> float:
    """Seconds of one step's five GEMMs at ``[n, d] -> h`` (median of ``repeats``)."""
    return time_per_call(gemm_step(n, d, h, device), repeats, device)


def training_shapes(config) -> list[tuple[int, int, int, int]]:
    """``(n, d, h, iterations)`` of each MLP autoencoder a config trains: the MLP DAE, or each
    pretrained layer of a stack; ``n`` is the batch size, 0 for full batch (filled in by the
    caller: the pool's size). A conv DAE has none (see the module's docstring)."""
    if hasattr(config, "train"):  # DaeConfig
        if getattr(config, "model", "mlp") != "mlp":
            return []
        t = config.train
        return [(t.batch_size, _n_in(config), config.hidden, t.iterations)]
    if hasattr(config, "pretrain"):  # SaeConfig
        return [(t.batch_size, a, b, t.iterations)
                for a, b, t in zip(config.sizes[:-1], config.sizes[1:], config.pretrain)]
    return []


def _n_in(config) -> int:
    return facts_of(config).n_features


def preset_floor(configs, n: int, repeats: int = 3, device: str = "cpu") -> float:
    """Seconds of GEMMs alone in the autoencoder trainings of ``configs`` (each with a pool
    of ``n`` images), each shape timed once on this machine."""
    per_shape: dict[tuple[int, int, int], float] = {}
    total = 0.0
    for config in configs:
        for batch, d, h, iterations in training_shapes(config):
            rows = min(batch, n) if batch else n
            if (rows, d, h) not in per_shape:
                per_shape[(rows, d, h)] = gemm_seconds(rows, d, h, repeats, device)
            total += iterations * per_shape[(rows, d, h)]
    return total
