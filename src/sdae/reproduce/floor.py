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
the same math on this machine can beat, in the faster of fp32 and bf16 where the machine has
bf16 instructions (:mod:`sdae.nn.precision`). Fine-tuning (a few labelled images) and the
KNN are not counted: their products are too small to say anything. The conv DAEs and the
CNN do work of another kind, convolutions; their floor is one forward and backward pass of
the model at the training's batch size (:func:`conv_seconds`: no optimizer, noise,
augmentation or data handling), timed the same way, times their steps
(:func:`conv_floor`). ``sdae semi`` counts both kinds: the 784-100 stack it pretrains for its
graph (GEMMs) and its student's forward and backward passes over every FixMatch step of
every round (the teacher's forward pass, the graph and HOG are not counted). (The floor once
counted a conv DAE as that many 784-256 full-batch MLP steps, which put the paper preset's
floor at twice its MLP trainings' GEMM time.)
A minibatch training counts its batch's rows per step, not the pool's.
"""

from __future__ import annotations

import math
import statistics
import time

import torch

from sdae.config.checks import facts_of
from sdae.config.classification import SemiTraining


def flops(n: int, d: int, h: int) -> int:
    """Floating-point operations of one step's five GEMMs."""
    return 10 * n * d * h


def gemm_step(n: int, d: int, h: int, device: str = "cpu", dtype=torch.float32):
    """A function that runs the five GEMMs of one ``[n, d] -> h`` step in ``dtype``, into
    buffers allocated once (like a training loop that reuses its memory)."""

    g = torch.Generator(device=device).manual_seed(0)

    def rand(*shape):
        return torch.rand(shape, generator=g, device=device).to(dtype)

    x, w, b, w2, b2 = rand(n, d), rand(h, d), rand(h), rand(d, h), rand(d)
    hid, z, dw2, dh, dw = (torch.empty(s, device=device, dtype=dtype)
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


def gemm_seconds(n: int, d: int, h: int, repeats: int = 5, device: str = "cpu",
                 dtype=torch.float32) -> float:  # fmt: skip
    """Seconds of one step's five GEMMs at ``[n, d] -> h`` in ``dtype`` (median of
    ``repeats``)."""
    return time_per_call(gemm_step(n, d, h, device, dtype), repeats, device)


def least_gemm_seconds(n: int, d: int, h: int, repeats: int = 5, device: str = "cpu") -> float:
    """:func:`gemm_seconds` in the faster of fp32 and, where the machine has bf16
    instructions, bf16: what a run with ``precision`` ``auto`` can at best reach."""
    from sdae.nn.precision import native_bf16

    best = gemm_seconds(n, d, h, repeats, device)
    if native_bf16(device):
        best = min(best, gemm_seconds(n, d, h, repeats, device, dtype=torch.bfloat16))
    return best


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
    semi = getattr(config, "training", None)
    if isinstance(semi, SemiTraining) and semi.graph_per_class and "sae" in semi.graph_features:
        # the graph's stack (nn.semi.sae_codes): Table VII's first layer, full batch
        return [(0, _n_in(config), 100, semi.graph_pretrain_iterations)]
    return []


def _n_in(config) -> int:
    return facts_of(config).n_features


def preset_floor(configs, n: int, repeats: int = 3, device: str = "cpu") -> float:
    """Seconds of GEMMs alone in the autoencoder trainings of ``configs`` (each with a pool
    of ``n`` images), each shape timed once on this machine. ``sdae semi``'s graph stack
    counts once per pool and seed: its codes are cached (:func:`sdae.nn.semi.sae_codes`),
    so the other label draws and budgets read them back."""
    per_shape: dict[tuple[int, int, int], float] = {}
    total, stacks = 0.0, set()
    for config in configs:
        shapes = training_shapes(config)
        if isinstance(getattr(config, "training", None), SemiTraining):
            pool = (config.data, config.image_size, config.protocol, config.data_seed,
                    config.seed, tuple(shapes))  # fmt: skip
            shapes = [] if pool in stacks else shapes
            stacks.add(pool)
        for batch, d, h, iterations in shapes:
            rows = min(batch, n) if batch else n
            if (rows, d, h) not in per_shape:
                per_shape[(rows, d, h)] = least_gemm_seconds(rows, d, h, repeats, device)
            total += iterations * per_shape[(rows, d, h)]
    return total


def conv_seconds(model: torch.nn.Module, batch: torch.Tensor, repeats: int = 3,
                 device: str = "cpu") -> float:  # fmt: skip
    """Seconds of one forward and backward pass of ``model`` on ``batch``
    (:func:`sdae.nn.precision.forward_backward`), in the faster of fp32 and, where the machine
    has bf16 instructions, bf16 autocast."""
    from sdae.nn.precision import forward_backward, native_bf16

    probe = forward_backward(model.to(device), batch.to(device))
    dtypes = [torch.float32] + ([torch.bfloat16] if native_bf16(device) else [])
    return min(time_per_call(probe(dt), repeats, device) for dt in dtypes)


def conv_work(config, n: int):
    """``(model, batch shape, steps)`` of a conv DAE, CNN or ``sdae semi`` config (None for
    any other): the conv DAE's iterations at its batch size; the CNN's epochs over ``n``
    images; semi's student over every round's steps, each on its labelled and strong pool
    views (``batch_size`` times ``1 + unlabelled_ratio`` rows)."""
    from sdae.nn.augment import image_shape
    from sdae.nn.convnets import DeepCNN
    from sdae.runs.baseline import cnn_model
    from sdae.runs.dae import build_dae

    semi = getattr(config, "training", None)
    if isinstance(semi, SemiTraining):
        facts = facts_of(config)
        model = DeepCNN(facts.n_classes, semi.width, image_shape(facts.image_shape))
        rows = semi.batch_size * (1 + semi.unlabelled_ratio)
        return model.to_channels_last(), (rows, facts.n_features), semi.rounds * semi.iterations

    if getattr(config, "model", None) == "conv" and hasattr(config, "train"):
        t = config.train
        rows = min(t.batch_size, n) if t.batch_size else n
        return build_dae(config), (rows, math.prod(config.input_shape)), t.iterations
    if getattr(config, "model", None) == "cnn":
        s = config.settings
        rows = min(s.batch_size, n)
        return cnn_model(config), (rows, facts_of(config).n_features), s.epochs * -(-n // rows)
    return None


def conv_floor(configs_and_pools, repeats: int = 3, device: str = "cpu") -> float:
    """Seconds of the conv nets' forward and backward passes alone over their trainings:
    ``configs_and_pools`` pairs each config with its training set's size."""
    per_shape: dict[tuple, float] = {}
    total = 0.0
    for config, n in configs_and_pools:
        work = conv_work(config, n)
        if work is None:
            continue
        model, shape, steps = work
        key = (type(model).__name__, shape, tuple(p.shape for p in model.parameters()))
        if key not in per_shape:
            batch = torch.rand(shape, generator=torch.Generator().manual_seed(0))
            per_shape[key] = conv_seconds(model, batch, repeats, device)
        total += steps * per_shape[key]
    return total
