"""The photo denoiser's goal table (issue "Denoise real photographs"): PSNR of the 3x3 median,
the adaptive median and a conv DAE on grey photographs at their own size, with impulse noise of
densities 0.1, 0.3, 0.5 and 0.7, and on Fashion-MNIST's test images.

Photographs (none of them in the shipped model's training data, :mod:`sdae.data.denoise_mix`):
scikit-image's ``camera``, ``astronaut``, ``coins``, ``moon`` and matplotlib's
``grace_hopper.jpg``, each converted to grey by Pillow (``convert("L")``) and used as uint8 / 255.
The noise is sdae's ``impulse`` (P(0) = P(1) = d/2), drawn on the named stream
``photo-goal/<photo>/<d>`` of ``--seed``, so every filter sees the same noisy image. The model's
output is rounded to 8 bits, as ``sdae denoise`` writes it. Scores are
:func:`sdae.runs.references.reference_scores`'s (data range 1, PSNR capped at 100 dB).

With ``--fashion`` it also scores the model on the paper protocol's 600 test images, corrupted
as ``sdae dae --model conv --train-noise p`` scores its model (salt-and-pepper ``p`` = impulse
``2p``, stream ``test-noise`` of seed 0; mean PSNR over images), for p = 0.1 and 0.3.

    python benchmarks/photo_goal.py [--model RUN] [--densities 0.1,0.3,0.5,0.7] [--fashion] [--json]

Without ``--model`` it scores the model that ships with sdae. Prints a Markdown table (or JSON).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

PHOTOS = ("camera", "astronaut", "coins", "moon", "grace_hopper")
DENSITIES = (0.1, 0.3, 0.5, 0.7)
FASHION_LEVELS = (0.1, 0.3)


def grey_photo(name: str) -> np.ndarray:
    """Photograph ``name`` as float32 grey ``[H, W]`` in [0, 1] (uint8 / 255)."""
    from PIL import Image

    if name == "grace_hopper":
        import matplotlib.cbook

        img = Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    else:
        import skimage.data

        img = Image.fromarray(getattr(skimage.data, name)())
    return np.asarray(img.convert("L"), np.float32) / 255


def photo_rows(model, densities, seed: int) -> list[dict]:
    """One row per photograph and density: PSNR of noisy, median, adaptive median, sdae."""
    import torch

    from sdae.nn.noise import corrupt
    from sdae.nn.tiling import denoise_image
    from sdae.rng import Streams
    from sdae.runs.references import reference_scores

    rows = []
    for name in PHOTOS:
        clean = grey_photo(name)
        for d in densities:
            gen = Streams(seed).generator(f"photo-goal/{name}/{d}")
            noisy = corrupt(torch.from_numpy(clean).reshape(1, -1), "impulse", d, gen)
            noisy = noisy.numpy().reshape(clean.shape)
            out = np.rint(denoise_image(model, noisy) * 255) / 255
            psnr = reference_scores(clean, noisy, out.astype(np.float32))["psnr"]
            rows.append({"photo": name, "size": f"{clean.shape[1]}x{clean.shape[0]}",
                         "density": d, **{k: round(v, 2) for k, v in psnr.items()}})
    return rows


def fashion_rows(model) -> list[dict]:
    """The model on the paper protocol's Fashion-MNIST test images at salt-and-pepper p."""
    from sdae.config.denoising import DaeConfig
    from sdae.config.training import AutoencoderTraining
    from sdae.data.splits import load_splits
    from sdae.evaluation import adaptive_median_filter, median_filter, psnr
    from sdae.nn.noise import corrupt
    from sdae.nn.tiling import denoise_images
    from sdae.rng import Streams

    rows = []
    for p in FASHION_LEVELS:
        config = DaeConfig(model="conv", train=AutoencoderTraining(noise_level=p), test_noise=p)
        test = load_splits(config.protocol, config.data_seed, "cpu")[1]
        gen = Streams(config.seed).generator("test-noise")
        noisy = corrupt(test.x, config.noise, p, gen)
        out = denoise_images(model, noisy.numpy().reshape(-1, 28, 28)).reshape(len(noisy), -1)
        rows.append({"p": p, "density": 2 * p, "noisy": psnr(test.x, noisy),
                     "median": psnr(test.x, median_filter(noisy)),
                     "adaptive_median": psnr(test.x, adaptive_median_filter(noisy)),
                     "sdae": psnr(test.x, out)})  # fmt: skip
    return rows


def summary(rows: list[dict], densities) -> list[dict]:
    """Per density: the means over photographs, the margin over the better classical filter
    (mean, and the least on any one photograph)."""
    out = []
    for d in densities:
        mine = [r for r in rows if r["density"] == d]
        best = [max(r["median"], r["adaptive_median"]) for r in mine]
        margin = [r["sdae"] - b for r, b in zip(mine, best)]
        out.append({"density": d, **{k: round(float(np.mean([r[k] for r in mine])), 2)
                                     for k in ("noisy", "median", "adaptive_median", "sdae")},
                    "margin_mean": round(float(np.mean(margin)), 2),
                    "margin_min": round(float(np.min(margin)), 2)})  # fmt: skip
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="an sdae dae run folder (default: the shipped model)")
    ap.add_argument("--densities", default=",".join(map(str, DENSITIES)))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fashion", action="store_true", help="also score Fashion-MNIST")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from sdae.runs.denoise import load_denoiser, shipped_denoiser

    model = load_denoiser(args.model)[0] if args.model else shipped_denoiser()[0]
    densities = [float(d) for d in args.densities.split(",")]
    rows = photo_rows(model, densities, args.seed)
    result = {"photos": rows, "summary": summary(rows, densities)}
    if args.fashion:
        result["fashion"] = fashion_rows(model)
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        print()
        return 0
    print("| photo | size | density | noisy | 3x3 median | adaptive median | sdae |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['photo']} | {r['size']} | {r['density']} | {r['noisy']:.2f} | "
              f"{r['median']:.2f} | {r['adaptive_median']:.2f} | {r['sdae']:.2f} |")
    print("\n| density | noisy | 3x3 median | adaptive median | sdae | margin (mean) | "
          "margin (least) |\n|---|---|---|---|---|---|---|")
    for s in result["summary"]:
        print(f"| {s['density']} | {s['noisy']:.2f} | {s['median']:.2f} | "
              f"{s['adaptive_median']:.2f} | {s['sdae']:.2f} | {s['margin_mean']:+.2f} | "
              f"{s['margin_min']:+.2f} |")
    for r in result.get("fashion", []):
        print(f"Fashion-MNIST p={r['p']} (density {r['density']}): noisy {r['noisy']:.2f}  "
              f"median {r['median']:.2f}  adaptive {r['adaptive_median']:.2f}  "
              f"sdae {r['sdae']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
