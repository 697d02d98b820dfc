"""The reproduction report as documents: ``report.md`` (figures linked) and a
self-contained ``report.html`` (figures embedded as base64), rendered from one list of
blocks, and ``results.json``, which holds every number.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from sdae.io.outputs import atomic_write_text, copy_file, read_json, to_jsonable, write_json
from sdae.reproduce.plan import (
    FRESH,
    ExperimentResult,
    select,
)
from sdae.reproduce.tables import MLP_DAE, build_tables, summarize

FIGURES = {  # paper figure -> (which experiment, file in its folder, caption)
    "5": ({**MLP_DAE, "train_noise": 0.1}, "cost.png",
          "Training cost vs iterations, train noise 0.1"),
    "6": ({**MLP_DAE, "train_noise": 0.1}, "reconstructions_test0.1.png",
          "Train noise 0.1, test noise 0.1"),
    "7": ({**MLP_DAE, "train_noise": 0.3}, "cost.png",
          "Training cost vs iterations, train noise 0.3"),
    "8": ({**MLP_DAE, "train_noise": 0.3}, "reconstructions_test0.5.png",
          "Train noise 0.3, test noise 0.5"),
    "9": ({**MLP_DAE, "train_noise": 0.5}, "cost.png",
          "Training cost vs iterations, train noise 0.5"),
    "10": ({**MLP_DAE, "train_noise": 0.5}, "reconstructions_test0.3.png",
           "Train noise 0.5, test noise 0.3"),
    "11": ({**MLP_DAE, "train_noise": 0.5}, "reconstructions_test0.5.png",
           "Train noise 0.5, test noise 0.5"),
    "12": ({"kind": "pretrain", "arch": 1}, "layer_costs.png",
           "Layer-wise pretraining costs, architecture 1"),
}


EXTRA_FIGURES = {
    "11b": ({"kind": "dae", "noise": FRESH, "train_noise": 0.5, "model": "mlp"},
            "reconstructions_test0.5.png",
            "Fresh-draw reading of the pseudo-code: train 0.5, test 0.5"),
    "6b": ({**MLP_DAE, "model": "conv", "train_noise": 0.1}, "reconstructions_test0.1.png",
           "sdae's conv DAE: train noise 0.1, test noise 0.1"),
    "8b": ({**MLP_DAE, "model": "conv", "train_noise": 0.3}, "reconstructions_test0.3.png",
           "sdae's conv DAE: train noise 0.3, test noise 0.3"),
    "10b": ({**MLP_DAE, "model": "conv", "train_noise": 0.5}, "reconstructions_test0.3.png",
            "sdae's conv DAE: train noise 0.5, test noise 0.3"),
    "13": ({"kind": "robust"}, "accuracy.png",
           "Denoise, then classify: accuracy of classifiers trained on clean images"),
    "12b": ({"kind": "pretrain", "arch": 2}, "layer_costs.png",
            "Layer-wise pretraining, architecture 2"),
    "12c": ({"kind": "pretrain", "arch": 3}, "layer_costs.png",
            "Layer-wise pretraining, architecture 3"),
    "14": ({"kind": "semi", "labels": 5, "draw": 0}, "finetune_cost.png",
           "sdae semi's training cost, 5 labels per class, label draw 0"),
    "15": ({"kind": "semi", "labels": 5, "draw": 0}, "confusion.png",
           "sdae semi's confusion matrix on the test images, 5 labels per class, draw 0"),
}


def _fmt(c: dict) -> tuple[str, str, str]:
    def num(v):
        return "—" if v is None else f"{v:.4g}"

    ours = num(c["ours"])
    if c["std"] is not None:
        ours += f" ± {c['std']:.2g}"
    if c["n"] and c["n"] > 1:
        ours += f" (n={c['n']})"
    diff = "" if c["diff"] is None else f"{c['diff']:+.3g}"
    mark = {True: " ✓", False: " ✗", None: ""}[c.get("reproduced")]
    return num(c["paper"]), ours, diff + mark


_OURS_ONLY = ("DAE", "robust", "paired")  # tables of what the paper shows no numbers for


# (heading, tables in order, their titles) of the paper presets' report and the ladder's
PAPER_LAYOUT = ("sdae: reproduction of Yaramsetty et al.",
                ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "10 labels", "DAE",
                 "robust"], {"DAE": "DAE", "10 labels": "10 labels", "robust": "Beyond the paper"})


LADDER_LAYOUT = ("sdae: the method ladder at the paper's label budgets", ["ladder", "paired"],
                 {"ladder": "Method ladder", "paired": "Paired differences"})  # fmt: skip


def _document(out: Path, tables, summary, figs, meta, layout=PAPER_LAYOUT) -> list[tuple]:
    heading, order, titles = layout
    blocks: list[tuple] = [("h1", heading), ("h2", "Summary")]
    blocks += [("li", line) for line in summary]
    blocks.append(("p", f"Preset `{meta['preset']['name']}`, {meta['args']['seeds']} seed(s); "
                        f"wall time {meta['wall_seconds']:.1f} s{_floor_text(meta)}. Every number "
                        "below is in "
                        "`results.json` with the config that produced it."))  # fmt: skip
    for tid in order:
        t = tables[tid]
        if not t["rows"]:
            continue
        title = titles.get(tid, f"Table {tid}")
        blocks.append(("h2", f"{title}: {t['caption']}"))
        keys = [k for k in t["rows"][0] if k != "label"]
        header = ["row"] + [h for k in keys for h in
                            ((f"{k} (ours)",) if t["rows"][0][k]["paper"] is None and
                             tid in _OURS_ONLY else (f"{k} paper", f"{k} ours", "diff"))]
        rows = []
        for row in t["rows"]:
            cells = [row["label"]]
            for k in keys:
                paper, ours, diff = _fmt(row[k])
                cells += [ours] if tid in _OURS_ONLY else [paper, ours, diff]
            rows.append(cells)
        blocks.append(("table", header, rows))
    blocks.append(("h2", "Figures"))
    for fig, (rel, caption) in figs.items():
        blocks.append(("figure", rel, f"Fig. {fig}: {caption}"))
    return blocks


def _floor_text(meta: dict) -> str:
    floor = meta.get("gemm_floor_seconds")
    if not floor:
        return ""
    return (f" against a GEMM floor of {floor:.1f} s (the autoencoder trainings' matrix "
            f"products alone, measured on this machine: {meta['wall_seconds'] / floor:.2f}x)")


def _md(blocks) -> str:
    lines = []
    for b in blocks:
        if b[0] in ("h1", "h2"):
            lines += ["#" * int(b[0][1]) + " " + b[1], ""]
        elif b[0] == "li":
            lines.append(f"- {b[1]}")
        elif b[0] == "p":
            lines += ["", b[1], ""]
        elif b[0] == "table":
            lines += ["| " + " | ".join(b[1]) + " |", "|" + "---|" * len(b[1])]
            lines += ["| " + " | ".join(r) + " |" for r in b[2]] + [""]
        elif b[0] == "figure":
            lines += [f"![{b[2]}]({b[1]})", "", f"*{b[2]}*", ""]
    return "\n".join(lines) + "\n"


def _html(blocks, out: Path) -> str:
    e = html.escape
    body = []
    for b in blocks:
        if b[0] in ("h1", "h2"):
            body.append(f"<{b[0]}>{e(b[1])}</{b[0]}>")
        elif b[0] == "li":
            body.append(f"<ul><li>{e(b[1])}</li></ul>")
        elif b[0] == "p":
            body.append(f"<p>{e(b[1])}</p>")
        elif b[0] == "table":
            head = "".join(f"<th>{e(h)}</th>" for h in b[1])
            rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in b[2])
            body.append(f"<table><tr>{head}</tr>{rows}</table>")
        elif b[0] == "figure":
            data = base64.b64encode((out / b[1]).read_bytes()).decode()
            body.append(f'<figure><img alt="{e(b[2])}" src="data:image/png;base64,{data}">'
                        f"<figcaption>{e(b[2])}</figcaption></figure>")  # fmt: skip
    style = ("body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
             "padding:3px 7px;font-size:90%}img{max-width:100%}")  # fmt: skip
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>sdae reproduction</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n")


def _collect_figures(out: Path, results: list[ExperimentResult]) -> dict[str, tuple[str, str]]:
    """Copy seed 0's figures to ``out/figures/figNN.png`` (atomically); returns fig -> (path,
    caption)."""
    figs = {}
    for fig, (fields, file, caption) in {**FIGURES, **EXTRA_FIGURES}.items():
        found = [r for r in select(results, **fields) if r.experiment.seed == 0]
        src = out / "experiments" / found[0].experiment.name / file if found else None
        if src is not None and src.exists():
            rel = f"figures/fig{fig.zfill(3)}_{Path(file).stem}.png"
            dest = out / rel
            if not dest.exists() or dest.read_bytes() != src.read_bytes():
                copy_file(src, dest)
            figs[fig] = (rel, caption)
    return figs


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        atomic_write_text(path, text)


def write_report(out: Path, *, preset: Any, args: dict, results: list[ExperimentResult],
                 wall_seconds: float, gemm_floor_seconds: float | None = None) -> dict[str, Any]:
    """Write ``report.md``, ``report.html`` and ``results.json`` into ``out`` (files whose
    content would not change are left untouched). Returns the results document."""
    ladder = getattr(preset, "ladder_draws", 0)
    preset = to_jsonable(preset)
    if ladder:
        from sdae.reproduce.ladder import build_ladder, ladder_summary

        tables, layout = build_ladder(results), LADDER_LAYOUT
        summary = ladder_summary(tables, preset)
    else:
        tables, layout = build_tables(results), PAPER_LAYOUT
        summary = summarize(tables, preset)
    figs = _collect_figures(out, results)
    meta = {"preset": preset, "args": args, "wall_seconds": wall_seconds,
            "gemm_floor_seconds": gemm_floor_seconds}
    blocks = _document(out, tables, summary, figs, meta, layout)
    experiments = {r.experiment.name: r.as_json() for r in results}
    doc = to_jsonable({**meta, "summary": summary, "tables": tables,
                       "figures": {k: v[0] for k, v in figs.items()},
                       "experiments": experiments})  # fmt: skip
    _write_if_changed(out / "report.md", _md(blocks))
    _write_if_changed(out / "report.html", _html(blocks, out))
    path = out / "results.json"
    if not path.exists() or read_json(path, "delete it; it is written again") != doc:
        write_json(path, doc)
    return doc
