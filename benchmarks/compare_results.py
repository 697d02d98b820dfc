"""Compare two ``sdae reproduce`` results.json files in every value but the timings.

    python benchmarks/compare_results.py BEFORE/results.json AFTER/results.json

Prints each difference (path, before, after) and exits 1 if there is any. Keys that hold
times (``*seconds*``, ``wall_*``) and the run's own arguments that name a version are skipped;
floats must be equal exactly: the same code on the same machine gives the same bits. A key
only AFTER has (a field the new code adds beside the old ones) is listed as added and is no
difference: scripts that read BEFORE's keys read AFTER the same. A key AFTER lacks, or a
value it changes, is one.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter

SKIP = ("seconds", "wall_", "sdae_version", "gemm_floor")


def walk(a, b, path="", added=None):
    """Yield ``(path, before, after)`` for each difference; append to ``added`` the path of
    each key that only ``b`` has."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if any(s in k for s in SKIP):
                continue
            if k not in a and added is not None:
                added.append(f"{path}/{k}")
            elif k not in a or k not in b:
                yield f"{path}/{k}", a.get(k, "<missing>"), b.get(k, "<missing>")
            else:
                yield from walk(a[k], b[k], f"{path}/{k}", added)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from walk(x, y, f"{path}[{i}]", added)
    elif a != b:
        yield path, a, b


def _pattern(path: str) -> str:
    """A path with its list indices dropped: ``/tables/I/rows[0]/fields`` ->
    ``/tables/I/rows[]/fields``, so that a key added to every row is listed once."""
    return re.sub(r"\[\d+\]", "[]", path)


def main() -> int:
    before, after = (json.load(open(p)) for p in sys.argv[1:3])
    added: list[str] = []
    diffs = list(walk(before, after, added=added))
    counts = Counter(_pattern(p) for p in added)
    for pattern, n in sorted(counts.items()):
        print(f"added: {pattern}" + (f" ({n} times)" if n > 1 else ""))
    for path, x, y in diffs[:50]:
        print(f"{path}: {str(x)[:80]!s} -> {str(y)[:80]!s}")
    print(f"{len(diffs)} difference(s), {len(added)} key(s) added")
    return 1 if diffs else 0


if __name__ == "__main__":
    raise SystemExit(main())
