"""Two ``sdae reproduce`` runs of one preset side by side: every table cell, and each
experiment's training time.

    python benchmarks/side_by_side.py BEFORE/results.json AFTER/results.json [--times]

Prints Markdown: one row per table cell the report has ("ours" of each table, both runs,
and their difference), then, with ``--times``, each experiment's ``train_seconds``. For the
before/after of a change that moves results statistically (a new noise stream, another
precision), where ``compare_results.py``'s bit-for-bit comparison does not apply.
"""

from __future__ import annotations

import argparse
import json


def cells(results: dict) -> dict[tuple[str, str, str], float]:
    """(table, row label, column) -> our value, for every numeric cell of every table."""
    out = {}
    for name, table in results["tables"].items():
        for row in table["rows"]:
            for column, cell in row.items():
                if isinstance(cell, dict) and isinstance(cell.get("ours"), (int, float)):
                    out[(name, row["label"], column)] = cell["ours"]
    return out


def seconds(results: dict) -> dict[str, float]:
    return {name: e["metrics"].get("train_seconds") for name, e in
            results["experiments"].items()}  # fmt: skip


def _fmt(v) -> str:
    return "" if v is None else f"{v:.4g}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("--times", action="store_true", help="also each experiment's train_seconds")
    args = p.parse_args()
    a, b = (json.load(open(path)) for path in (args.before, args.after))
    print("| table | row | column | before | after | after - before |")
    print("|---|---|---|---|---|---|")
    ca, cb = cells(a), cells(b)
    for key in ca:
        x, y = ca[key], cb.get(key)
        diff = "" if y is None else _fmt(y - x)
        print(f"| {key[0]} | {key[1]} | {key[2]} | {_fmt(x)} | {_fmt(y)} | {diff} |")
    if args.times:
        print("\n| experiment | train s before | train s after | ratio |")
        print("|---|---|---|---|")
        sa, sb = seconds(a), seconds(b)
        for name, x in sa.items():
            y = sb.get(name)
            ratio = f"{x / y:.2f}x" if x and y else ""
            print(f"| {name} | {_fmt(x)} | {_fmt(y)} | {ratio} |")
    print(f"\nwall: {a['wall_seconds']:.1f} s -> {b['wall_seconds']:.1f} s")


if __name__ == "__main__":
    main()
