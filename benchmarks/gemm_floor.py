"""How close sdae's full-batch training step comes to its matrix-multiply floor.

For each training shape of the paper preset (the DAE 784-256-784 at salt-and-pepper 0.3;
the pretrained layers 784-500, 500-200, 200-100, 784-300, 300-100, 784-100, no noise; full
batch of 6000), one run measures, in interleaved rounds:

- sdae's step: what ``train_autoencoder`` spends per iteration (noise, the closed-form step,
  fused Adam, the cost read-out), from the difference of a long and a short run, so that
  set-up is not counted;
- the same step's five GEMMs alone (``sdae.reproduce.floor.gemm_step``: ``addmm``/``mm`` at the
  same shapes, same threads, in the precision the step chose: ``precision`` auto runs them in
  bf16 where this machine measures it faster).

``gemm_share`` is GEMMs / step, each the fastest of its rounds: 1.0 would be a step that
costs nothing but its products. When a series of rounds spreads by more than ``--max-spread``
(default 25 %), or a round's share exceeds 1.0 (impossible: a step faster than its own GEMMs),
the machine was too busy: the script prints one line saying so and exits with status 3
(:mod:`rounds`), with no figure.

    python benchmarks/gemm_floor.py [--rounds 5] [--max-spread 0.25] [--json]

With ``--json`` the last line is a JSON object: ``gemm_share``, ``step_ms``, ``gemm_ms`` and
``gflops`` map each shape's name ("784-256-784", ...) to a number (fastest rounds);
``share_range`` gives each shape's lowest and highest per-round share, ``spread`` each
series' spread.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import torch

from sdae.config.training import AutoencoderTraining
from sdae.data.fashion_mnist import load_fashion_mnist
from sdae.data.splits import protocol_splits
from sdae.nn.models import Autoencoder, seeded
from sdae.nn.training import train_autoencoder
from sdae.reproduce.floor import flops, gemm_step, time_per_call
from sdae.rng import Streams

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from rounds import MAX_SPREAD, noise_reasons, refuse, spread  # noqa: E402

N = 6000
# name -> (n_in, n_hidden, noise, level): the paper preset's full-batch trainings
SHAPES = {
    "784-256-784": (784, 256, "salt-and-pepper", 0.3),
    "784-500-784": (784, 500, "masking", 0.0),
    "500-200-500": (500, 200, "masking", 0.0),
    "200-100-200": (200, 100, "masking", 0.0),
    "784-300-784": (784, 300, "masking", 0.0),
    "300-100-300": (300, 100, "masking", 0.0),
    "784-100-784": (784, 100, "masking", 0.0),
}


def sdae_step_seconds(x: torch.Tensor, h: int, noise: str, level: float,
                      k: int = 10) -> tuple[float, torch.dtype]:  # fmt: skip
    """Seconds per iteration of ``train_autoencoder`` (long run minus short run), and the
    dtype its products ran in (``precision`` auto: bf16 where measured faster)."""

    def run(iterations: int) -> tuple[float, str]:
        with seeded(0):
            model = Autoencoder(x.shape[1], h)
        s = AutoencoderTraining(lr=0.001, iterations=iterations, noise=noise, noise_level=level)
        start = time.perf_counter()
        history = train_autoencoder(model, x, s, Streams(0, "bench-"))
        return time.perf_counter() - start, history.precision

    run(2)  # warm-up: the first run of a shape also probes its precision (kept per process)
    (long, used), (short, _) = run(k + 2), run(2)
    return (long - short) / k, torch.bfloat16 if used == "bf16" else torch.float32


def inputs(d: int, images: torch.Tensor) -> torch.Tensor:
    """The layer's input: the images, or codes in (0, 1) for a higher layer."""
    if d == images.shape[1]:
        return images
    return torch.rand(len(images), d, generator=torch.Generator().manual_seed(d))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (fastest kept)")
    p.add_argument("--max-spread", type=float, default=MAX_SPREAD,
                   help="refuse (exit 3) when rounds spread more (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="end with one JSON line")
    args = p.parse_args()
    train, _ = protocol_splits(load_fashion_mnist(), "paper", seed=0)
    steps = {name: [] for name in SHAPES}
    gemms = {name: [] for name in SHAPES}
    dtypes = {}
    for r in range(args.rounds):
        for name, (d, h, noise, level) in SHAPES.items():
            x = inputs(d, train.x)
            seconds, dtypes[name] = sdae_step_seconds(x, h, noise, level)
            steps[name].append(seconds)
            gemms[name].append(time_per_call(gemm_step(N, d, h, dtype=dtypes[name]), 5))
        print(f"round {r + 1}: " + "  ".join(f"{n} {g / s:.2f}" for n, g, s in
              zip(SHAPES, [v[-1] for v in gemms.values()], [v[-1] for v in steps.values()])),
              flush=True)  # fmt: skip
    shares = {n: [g / s for g, s in zip(gemms[n], steps[n])] for n in SHAPES}
    reasons = noise_reasons({**{f"{n} step": v for n, v in steps.items()},
                             **{f"{n} GEMMs": v for n, v in gemms.items()}},
                            args.max_spread, shares)  # fmt: skip
    if reasons:
        return refuse(reasons, args.max_spread)
    step_ms = {n: 1000 * min(v) for n, v in steps.items()}
    gemm_ms = {n: 1000 * min(v) for n, v in gemms.items()}
    result = {
        "gemm_share": {n: round(gemm_ms[n] / step_ms[n], 3) for n in SHAPES},
        "share_range": {n: [round(min(g / s for g, s in zip(gemms[n], steps[n])), 3),
                            round(max(g / s for g, s in zip(gemms[n], steps[n])), 3)]
                        for n in SHAPES},
        "spread": {n: {"step": round(spread(steps[n]), 3), "gemms": round(spread(gemms[n]), 3)}
                   for n in SHAPES},
        "step_ms": {n: round(v, 2) for n, v in step_ms.items()},
        "gemm_ms": {n: round(v, 2) for n, v in gemm_ms.items()},
        "gflops": {n: round(flops(N, *SHAPES[n][:2]) / gemm_ms[n] / 1e6, 1) for n in SHAPES},
        "precision": {n: "bf16" if t == torch.bfloat16 else "fp32" for n, t in dtypes.items()},
        "n": N, "rounds": args.rounds, "threads": torch.get_num_threads(),
        "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
    }  # fmt: skip
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{'shape':<13}{'step ms':>9}{'GEMMs ms':>10}{'share':>7}{'GFLOP/s':>9}")
    for n in SHAPES:
        print(f"{n:<13}{step_ms[n]:>9.1f}{gemm_ms[n]:>10.1f}{result['gemm_share'][n]:>7.2f}"
              f"{result['gflops'][n]:>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
