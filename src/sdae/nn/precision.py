"""The numeric precision of a training's matrix products: fp32, or bfloat16 where this machine
computes it natively *and* measurably faster (``precision="auto"``, the default).

bfloat16 keeps fp32's exponent and 8 bits of mantissa. sdae uses it as mixed precision: the
weights, the optimizer's state, the cost and every elementwise step stay in fp32; only the
inputs of the matrix products (GEMMs, convolutions) are rounded to bf16, and their sums are
accumulated in fp32 by the CPU's or GPU's bf16 instructions. Whether that is faster depends on
the machine, not on a flag: on a 2-core AMD EPYC with AVX512-BF16, ``torch.mm`` at the DAE's
shapes ran 4.4x faster in bf16; on an AVX512-BF16 Xeon an earlier round measured it 1.6x
slower. So ``auto`` asks twice: does the CPU say it has bf16 instructions (``avx512_bf16`` or
``amx_bf16`` in ``/proc/cpuinfo``; CUDA: ``torch.cuda.is_bf16_supported``), and does a probe
of the training's own work, timed now in both precisions, run at least :data:`MARGIN` times
faster in bf16? The answer is kept per process and probe (under ``torchrun``, rank 0's
answer for all); the run records what was chosen.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Hashable, Sequence

import torch

from sdae.nn import distributed

#: how much faster bf16 must measure to be chosen (below it, rounding is not worth it)
MARGIN = 1.15

_CHOSEN: dict[Hashable, torch.dtype] = {}


@functools.cache
def _cpu_flags() -> frozenset[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def native_bf16(device: torch.device | str) -> bool:
    """Whether ``device`` computes bf16 products in hardware; never where the environment
    sets ``SDAE_NO_BF16`` (the tests do, so that ``auto`` is fp32 on every machine)."""
    if os.environ.get("SDAE_NO_BF16"):
        return False
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool({"avx512_bf16", "amx_bf16"} & _cpu_flags())


def _fastest(works: Sequence[Callable[[], object]], rounds: int) -> list[float]:
    """The fastest of ``rounds`` timings of each of ``works``, the rounds interleaved (one
    call of each per round), so that load arriving mid-probe slows both alike and the
    minimum still finds a quiet round of each."""
    for work in works:
        work()  # warm-up: first-call set-up (kernel choice, allocation) does not count
    best = [float("inf")] * len(works)
    for _ in range(rounds):
        for k, work in enumerate(works):
            start = time.perf_counter()
            work()
            best[k] = min(best[k], time.perf_counter() - start)
    return best


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bf16_is_faster(probe: Callable[[torch.dtype], Callable[[], object]],
                   device: torch.device | str, rounds: int = 5) -> bool:  # fmt: skip
    """Time ``probe(dtype)()`` (a piece of the training's own work) in fp32 and in bf16,
    interleaved, fastest of ``rounds`` each: bf16 must be :data:`MARGIN` times faster."""
    device = torch.device(device)

    def timed(dtype):
        work = probe(dtype)
        return lambda: (work(), _sync(device))

    fp32, bf16 = _fastest([timed(torch.float32), timed(torch.bfloat16)], rounds)
    return fp32 > MARGIN * bf16


def choose(precision: str, device: torch.device | str, key: Hashable,
           probe: Callable[[torch.dtype], Callable[[], object]]) -> torch.dtype:  # fmt: skip
    """The dtype of the products for ``precision`` (``auto`` | ``fp32`` | ``bf16``): ``auto``
    is bf16 where :func:`native_bf16` and :func:`bf16_is_faster` on ``probe`` (measured once
    per process and ``key``, e.g. the GEMM shapes), else fp32."""
    if precision == "fp32":
        return torch.float32
    if precision == "bf16":
        return torch.bfloat16
    device = torch.device(device)
    full_key = (str(device), key)
    if full_key not in _CHOSEN:
        # under torchrun every rank runs the products as rank 0 measured
        faster = distributed.agree(native_bf16(device) and bf16_is_faster(probe, device))
        _CHOSEN[full_key] = torch.bfloat16 if faster else torch.float32
    return _CHOSEN[full_key]


def forward_backward(model: torch.nn.Module, x: torch.Tensor):
    """A probe for :func:`choose` and the floor: ``probe(dtype)`` is one forward and backward
    pass of ``model`` on ``x`` in that precision, in eval mode (no running statistic moves;
    the mode is restored) and with the gradients dropped afterwards."""

    def probe(dtype):
        def run():
            was = model.training
            model.eval()
            with autocast(dtype, x.device):
                out = model(x)
            out.float().sum().backward()
            model.train(was)
            for p in model.parameters():
                p.grad = None
        return run
    return probe


def name(dtype: torch.dtype) -> str:
    """``fp32`` or ``bf16``, as configs and metrics write it."""
    return "bf16" if dtype == torch.bfloat16 else "fp32"


def autocast(dtype: torch.dtype, device: torch.device | str):
    """bf16 autocast on ``device`` for ``dtype`` bf16 (products in bf16, the rest in fp32),
    a no-op context for fp32."""
    device = torch.device(device)
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=dtype == torch.bfloat16)
