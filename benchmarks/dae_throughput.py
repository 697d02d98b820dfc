"""Throughput of DAE training: a tutorial-style PyTorch loop against sdae's training path.

Both train the 784-256-784 denoising autoencoder on the paper's 6000 Fashion-MNIST training
images with salt-and-pepper noise 0.3, Adam at lr 0.001, batch 128, for the same number of
steps. The tutorial loop is the one most PyTorch tutorials teach: a DataLoader over a
TensorDataset, ``nn.Sequential(..., nn.Sigmoid())`` and ``nn.BCELoss``. Rounds alternate
between the two so that both see the same machine state; each path's fastest round is kept.
When either path's rounds spread by more than ``--max-spread`` (default 25 %) the machine was
too busy: one line says so and the script exits with status 3 (:mod:`rounds`), no figure.

    python benchmarks/dae_throughput.py [--steps 500] [--rounds 7] [--max-spread 0.25] [--json]

With ``--json`` the last line is a JSON object with ``tutorial_samples_per_s``,
``sdae_samples_per_s`` (fastest rounds), ``ratio`` (their quotient, sdae / tutorial),
``spread`` (each path's) and ``round_ratios`` / ``median_round_ratio`` (each round's own
quotient).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from sdae.config.training import AutoencoderTraining
from sdae.data.fashion_mnist import load_fashion_mnist
from sdae.data.splits import protocol_splits
from sdae.nn.models import Autoencoder, seeded
from sdae.nn.training import train_autoencoder
from sdae.rng import Streams

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from rounds import MAX_SPREAD, noise_reasons, refuse, spread  # noqa: E402

BATCH, LR, NOISE = 128, 1e-3, 0.3


def tutorial(x: torch.Tensor, steps: int) -> float:
    """Samples per second of the tutorial-style loop."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.Sigmoid(), nn.Linear(256, 784), nn.Sigmoid())
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.BCELoss()
    loader = DataLoader(TensorDataset(x), batch_size=BATCH, shuffle=True)
    done, start = 0, time.perf_counter()
    while done < steps:
        for (xb,) in loader:
            r = torch.rand_like(xb)
            noisy = xb.clone()
            noisy[r < NOISE] = 1.0
            noisy[r > 1 - NOISE] = 0.0
            loss = loss_fn(model(noisy), xb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            if done == steps:
                break
    return steps * BATCH / (time.perf_counter() - start)


def sdae_path(x: torch.Tensor, steps: int) -> float:
    """Samples per second of sdae's own ``train_autoencoder``."""
    with seeded(0):
        model = Autoencoder(784, 256)
    settings = AutoencoderTraining(lr=LR, iterations=steps, optimizer="adam", batch_size=BATCH,
                                   noise_level=NOISE)  # fmt: skip
    start = time.perf_counter()
    train_autoencoder(model, x, settings, Streams(0, "bench-"))
    return steps * BATCH / (time.perf_counter() - start)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=500, help="minibatch steps per measurement")
    p.add_argument("--rounds", type=int, default=7, help="alternating rounds (fastest kept)")
    p.add_argument("--max-spread", type=float, default=MAX_SPREAD,
                   help="refuse (exit 3) when rounds spread more (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="end with one JSON line")
    args = p.parse_args()
    train, _ = protocol_splits(load_fashion_mnist(), "paper", seed=0)
    tutorial(train.x, 20), sdae_path(train.x, 20)  # warm-up: allocator, thread pools
    tut, ours = [], []
    for r in range(args.rounds):
        tut.append(tutorial(train.x, args.steps))
        ours.append(sdae_path(train.x, args.steps))
        print(f"round {r + 1}: tutorial {tut[-1]:,.0f}  sdae {ours[-1]:,.0f} samples/s  "
              f"ratio {ours[-1] / tut[-1]:.2f}", flush=True)  # fmt: skip
    reasons = noise_reasons({"tutorial": [1 / v for v in tut], "sdae": [1 / v for v in ours]},
                            args.max_spread)  # fmt: skip
    if reasons:
        return refuse(reasons, args.max_spread)
    result = {
        "tutorial_samples_per_s": max(tut),
        "sdae_samples_per_s": max(ours),
        "ratio": max(ours) / max(tut),
        "spread": {"tutorial": round(spread([1 / v for v in tut]), 3),
                   "sdae": round(spread([1 / v for v in ours]), 3)},
        # paired per-round ratios: this machine's speed drifts, so show the spread too
        "round_ratios": [round(o / t, 3) for o, t in zip(ours, tut)],
        "median_round_ratio": statistics.median(o / t for o, t in zip(ours, tut)),
        "steps": args.steps, "rounds": args.rounds, "batch": BATCH,
        "threads": torch.get_num_threads(), "torch": torch.__version__,
    }  # fmt: skip
    print(json.dumps(result) if args.json else
          f"fastest: tutorial {result['tutorial_samples_per_s']:,.0f}  sdae "
          f"{result['sdae_samples_per_s']:,.0f} samples/s  ratio {result['ratio']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
