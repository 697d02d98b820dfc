"""Speed and memory of the conv DAE on whole images (``sdae denoise`` at native resolution).

Times :func:`sdae.nn.tiling.denoise_image` (the model call alone: tiles, network, copying
back; no reading, writing or scoring) of a width-32 :class:`ConvAutoencoder` (random weights,
or the trained model of ``--model RUN``) on grey images of 512x512, 2048x2048 and, with
``--large``, 6000x4000 pixels (uniform noise with 10 % impulses: the time does not depend on
the content). Each measurement runs in a fresh subprocess (one warm-up call on 64x64 first),
which reports its seconds and its peak RSS (``resource.getrusage``, the whole process:
Python, torch, the image, its output and the activations). Rounds are interleaved (every
size once, then again) so that every size sees the same machine; each size reports the
fastest round (``seconds``, ``mp_per_s``) and the spread ``(slowest - fastest) / fastest``.
If any spread exceeds ``--max-spread`` (default 0.25) the machine is too busy to give a
figure: the script says so and exits with status 3.

    python benchmarks/denoise_speed.py [--model RUN] [--large] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

SIZES = {"512x512": (512, 512), "2048x2048": (2048, 2048)}
LARGE = {"6000x4000": (4000, 6000)}  # width x height: 4000 rows of 6000


def child(h: int, w: int, model_dir: str | None, width: int, tile: int, overlap: int) -> dict:
    """One measurement, in this (fresh) process."""
    import resource
    import time

    import numpy as np
    import torch

    from sdae.nn.convnets import ConvAutoencoder
    from sdae.nn.tiling import denoise_image

    if model_dir:
        from sdae.runs.denoise import load_denoiser

        model = load_denoiser(model_dir)[0]
    else:
        torch.manual_seed(0)
        model = ConvAutoencoder(width).eval()
    rng = np.random.default_rng(0)
    img = rng.random((h, w), dtype=np.float32)
    img[rng.random((h, w), dtype=np.float32) < 0.1] = 1.0
    denoise_image(model, img[:64, :64])  # warm-up: oneDNN builds its kernels
    start = time.perf_counter()
    out = denoise_image(model, img, tile=tile, overlap=overlap)
    seconds = time.perf_counter() - start
    assert out.shape == img.shape
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    return {"seconds": seconds, "peak_rss_bytes": peak, "threads": torch.get_num_threads()}


def measure(size: tuple[int, int], args) -> dict:
    cmd = [sys.executable, __file__, "--child", f"{size[0]}x{size[1]}", "--width",
           str(args.width), "--tile", str(args.tile), "--overlap", str(args.overlap)]  # fmt: skip
    if args.model:
        cmd += ["--model", args.model]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if proc.returncode:
        sys.exit(f"measurement failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", metavar="RUN", help="an `sdae dae --model conv` run folder")
    p.add_argument("--width", type=int, default=32, help="width of the random model")
    p.add_argument("--large", action="store_true", help="also 6000x4000")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--tile", type=int, default=512)
    p.add_argument("--overlap", type=int, default=32)
    p.add_argument("--max-spread", type=float, default=0.25)
    p.add_argument("--json", action="store_true", help="last line: a JSON object")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        h, w = map(int, args.child.split("x"))
        print(json.dumps(child(h, w, args.model, args.width, args.tile, args.overlap)))
        return 0
    sizes = {**SIZES, **(LARGE if args.large else {})}
    runs: dict[str, list[dict]] = {name: [] for name in sizes}
    for r in range(args.rounds):
        for name, size in sizes.items():
            runs[name].append(m := measure(size, args))
            print(f"round {r + 1} {name}: {m['seconds']:.3f} s, peak RSS "
                  f"{m['peak_rss_bytes'] / 2**30:.2f} GiB", file=sys.stderr, flush=True)
    result, noisy = {"cpu": _cpu(), "rounds": args.rounds, "sizes": {}}, []
    for name, ms in runs.items():
        secs = [m["seconds"] for m in ms]
        fast, spread = min(secs), (max(secs) - min(secs)) / min(secs)
        h, w = sizes[name]
        result["sizes"][name] = {
            "seconds": round(fast, 3), "spread": round(spread, 3),
            "mp_per_s": round(h * w / 1e6 / fast, 3),
            "peak_rss_gib": round(max(m["peak_rss_bytes"] for m in ms) / 2**30, 3),
            "threads": ms[0]["threads"],
        }  # fmt: skip
        if spread > args.max_spread:
            noisy.append(f"{name} {spread:.0%}")
    if noisy:
        print(f"the machine is too noisy to measure: spread between rounds {', '.join(noisy)} "
              f"(over {args.max_spread:.0%}); try again when it is idle", file=sys.stderr)
        return 3
    for name, s in result["sizes"].items():
        print(f"{name}: {s['seconds']:.3f} s, {s['mp_per_s']:.3f} MP/s (spread "
              f"{s['spread']:.0%}), peak RSS {s['peak_rss_gib']:.2f} GiB")
    print(f"on {result['cpu']}, {result['sizes'][next(iter(sizes))]['threads']} torch threads")
    if args.json:
        print(json.dumps(result))
    return 0


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            name = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        name = "unknown CPU"
    return f"{name}, {os.cpu_count()} logical CPUs"


if __name__ == "__main__":
    sys.exit(main())
