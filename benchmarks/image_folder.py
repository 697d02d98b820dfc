"""Reading an image folder (torchvision's ImageFolder layout): the first read, decoding every
PNG, against the second, from sdae's cache of the decoded arrays.

The folder holds N (default 60000) of Fashion-MNIST's 28x28 grey training images as PNG files
in ``train/<class>/`` (its ten classes) and 1000 of its test images in ``test/<class>/``;
it is generated once into ``--folder`` (default ``/tmp/folder60k``) and reused while it holds
N training images. Each measurement runs ``sdae.load_dataset(folder)`` in a fresh Python
process with ``$SDAE_CACHE_DIR`` set to a temporary folder: the first with that folder empty
(every image decoded; the files themselves are in the OS page cache, having just been written
or read), the second with the cache the first wrote. Peak memory is the process's peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) after the read minus before it (numpy,
Pillow and sdae's folder reader already imported), divided by the size of the decoded arrays.

    python benchmarks/image_folder.py [--n 60000] [--folder /tmp/folder60k] [--rounds 3] [--json]

With ``--json`` the last line is a JSON object with the medians over rounds:
``first_read_s``, ``cached_read_s``, ``peak_rss_ratio`` (the first read's), ``cached_rss_ratio``,
``decoded_mb``, and the machine's ``cpu`` and ``cores``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TEST_PER_CLASS = 100

CHILD = """
import json, resource, sys, time
import numpy as np, PIL.Image
import sdae.data.folders  # the code's own memory is not the read's
from sdae.data.sources import load_dataset
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
d = load_dataset(sys.argv[1], progress=False)
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
decoded = d.train_images.nbytes + d.test_images.nbytes
print(json.dumps({"seconds": seconds, "rss_kib": after - before, "decoded_bytes": decoded,
                  "n_train": len(d.train_labels), "n_test": len(d.test_labels)}))
"""


def class_folder(name: str) -> str:
    return name.replace("/", "-")  # "T-shirt/top" is no folder name


def generate(folder: Path, n: int) -> None:
    """N training and 1000 test images of Fashion-MNIST as PNG files in ``folder``."""
    from PIL import Image

    from sdae.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist

    data = load_fashion_mnist(download=False)
    if n > len(data.train_labels):
        raise SystemExit(f"--n {n}: Fashion-MNIST has {len(data.train_labels)} training images")
    for split in ("train", "test"):
        for name in CLASS_NAMES:
            (folder / split / class_folder(name)).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        name = class_folder(CLASS_NAMES[data.train_labels[i]])
        Image.fromarray(data.train_images[i]).save(folder / "train" / name / f"{i:05d}.png")
    per_class = dict.fromkeys(range(10), 0)
    for i, label in enumerate(data.test_labels):
        if per_class[int(label)] < TEST_PER_CLASS:
            per_class[int(label)] += 1
            path = folder / "test" / class_folder(CLASS_NAMES[label]) / f"{i:05d}.png"
            Image.fromarray(data.test_images[i]).save(path)
    (folder / "generated.json").write_text(json.dumps({"n": n}))


def measure(folder: Path, cache: Path) -> dict:
    """One ``load_dataset(folder)`` in a fresh process, with ``cache`` as the cache folder."""
    env = {**os.environ, "SDAE_CACHE_DIR": str(cache)}
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(folder)], env=env, check=True,
                          capture_output=True, text=True)  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=60000, help="training images (default: 60000)")
    p.add_argument("--folder", default="/tmp/folder60k", help="where the PNGs are generated")
    p.add_argument("--rounds", type=int, default=3, help="rounds of (first, cached) reads")
    p.add_argument("--json", action="store_true", help="end with one JSON line")
    args = p.parse_args()
    folder = Path(args.folder)
    marker = folder / "generated.json"
    if not marker.is_file() or json.loads(marker.read_text()).get("n") != args.n:
        if folder.exists() and any(folder.iterdir()):
            raise SystemExit(f"{folder} holds something else; give another --folder")
        print(f"generating {args.n} PNGs into {folder} ...", file=sys.stderr, flush=True)
        generate(folder, args.n)
    first, cached = [], []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="sdae-cache-") as cache:
            first.append(measure(folder, Path(cache)))
            cached.append(measure(folder, Path(cache)))
    decoded = first[0]["decoded_bytes"]
    result = {
        "n_train": first[0]["n_train"], "n_test": first[0]["n_test"],
        "first_read_s": statistics.median(m["seconds"] for m in first),
        "cached_read_s": statistics.median(m["seconds"] for m in cached),
        "peak_rss_ratio": statistics.median(m["rss_kib"] * 1024 / decoded for m in first),
        "cached_rss_ratio": statistics.median(m["rss_kib"] * 1024 / decoded for m in cached),
        "decoded_mb": decoded / 2**20, "rounds": args.rounds,
        "first_read_runs_s": [round(m["seconds"], 2) for m in first],
        "cached_read_runs_s": [round(m["seconds"], 3) for m in cached],
        "cpu": cpu_name(), "cores": os.cpu_count(),
    }  # fmt: skip
    print(f"{result['n_train']} + {result['n_test']} images, {decoded / 2**20:.1f} MiB decoded, "
          f"{result['cpu']} ({result['cores']} cores), median of {args.rounds} rounds")  # fmt: skip
    print(f"{'read':<8}{'seconds':>9}{'peak RSS / decoded':>20}")
    print(f"{'first':<8}{result['first_read_s']:>9.2f}{result['peak_rss_ratio']:>20.2f}")
    print(f"{'cached':<8}{result['cached_read_s']:>9.3f}{result['cached_rss_ratio']:>20.2f}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
