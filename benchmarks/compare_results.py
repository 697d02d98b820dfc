"""Compare two ``sdae reproduce`` results.json files in every value but the timings.

    python benchmarks/compare_results.py BEFORE/results.json AFTER/results.json

Prints each difference (path, before, after) and exits 1 if there is any. Keys that hold
times (``*seconds*``, ``wall_*``) and the run's own arguments that name a version are skipped;
floats must be equal exactly: the same code on the same machine gives the same bits.
"""

from __future__ import annotations

import json
import sys

SKIP = ("seconds", "wall_", "sdae_version", "gemm_floor")


def walk(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if any(s in k for s in SKIP):
                continue
            if k not in a or k not in b:
                yield f"{path}/{k}", a.get(k, "<missing>"), b.get(k, "<missing>")
            else:
                yield from walk(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from walk(x, y, f"{path}[{i}]")
    elif a != b:
        yield path, a, b


def main() -> int:
    before, after = (json.load(open(p)) for p in sys.argv[1:3])
    diffs = list(walk(before, after))
    for path, x, y in diffs[:50]:
        print(f"{path}: {str(x)[:80]!s} -> {str(y)[:80]!s}")
    print(f"{len(diffs)} difference(s)")
    return 1 if diffs else 0


if __name__ == "__main__":
    raise SystemExit(main())
