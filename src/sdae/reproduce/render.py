"""The reproduction report as documents: ``report.md`` (figures linked) and a
self-contained ``report.html`` (figures embedded as base64), rendered from one list of
blocks, and ``results.json``, which holds every number.

A document opens with its headline (:mod:`.headline`: what reproduced, sdae's parts against
the paper's, two figures), then the summary, the long tables and the other figures. In the
HTML a table scrolls sideways when it is wider than the page, and its row labels wrap in
lines of several words, never one word a line.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from sdae.io.outputs import atomic_write_text, copy_file, read_json, to_jsonable, write_json
from sdae.reproduce.headline import LADDER_PLOT, Headline, ladder_headline, paper_headline
from sdae.reproduce.ladder import build_ladder, ladder_figure, ladder_summary, on_fashion
from sdae.reproduce.plan import FRESH, ExperimentResult, select
from sdae.reproduce.rows import Table
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


def _table_block(t: Table, ours_only: bool, suffix: str = " (ours)",
                 corner: str = "row") -> tuple:
    """A table's block: a row label (headed ``corner``), then per column paper / ours / diff
    (``ours_only``: just ours, for a table whose columns have no paper values; its headers
    end in ``suffix``)."""
    first = t.rows[0].cells
    header = [corner] + [h for k in t.columns for h in
                        ((f"{k}{suffix}",) if ours_only and first[k]["paper"] is None
                         else (f"{k} paper", f"{k} ours", "diff"))]  # fmt: skip
    rows = []
    for row in t.rows:
        cells = [row.label]
        for k in t.columns:
            paper, ours, diff = _fmt(row.cells[k])
            cells += [ours] if ours_only else [paper, ours, diff]
        rows.append(cells)
    return ("table", header, rows)


def document(tables: dict[str, Table], summary: list[str], headline: Headline,
             figs: dict[str, tuple[str, str]], meta: dict, layout=PAPER_LAYOUT) -> list[tuple]:
    """The report as blocks: the title; the headline (its lines, its table, its figures);
    the summary (less the lines the headline has) and the run; every table of ``layout``
    with rows; the other figures."""
    heading, order, titles = layout
    blocks: list[tuple] = [("h1", heading), ("h2", "Headline results")]
    blocks += [("li", line) for line in headline.lines]
    if headline.table.rows:
        blocks += [("p", headline.table.caption),
                   _table_block(headline.table, True, "", headline.corner)]
    shown = [f for f in headline.figures if f in figs]
    if shown:
        blocks.append(("figures", [(figs[f][0], f"Fig. {f}: {figs[f][1]}") for f in shown]))
    blocks.append(("h2", "Summary"))
    blocks += [("li", line) for line in summary if line not in headline.lines]
    blocks.append(("p", f"Preset `{meta['preset']['name']}`, {meta['args']['seeds']} seed(s); "
                        f"wall time {meta['wall_seconds']:.1f} s{_floor_text(meta)}. Every number "
                        "below is in "
                        "`results.json` with the config that produced it."))  # fmt: skip
    for tid in order:
        t = tables[tid]
        if not t.rows:
            continue
        blocks.append(("h2", f"{titles.get(tid, f'Table {tid}')}: {t.caption}"))
        blocks.append(_table_block(t, tid in _OURS_ONLY))
    blocks.append(("h2", "Figures"))
    for fig, (rel, caption) in figs.items():
        if fig not in shown:
            blocks.append(("figure", rel, f"Fig. {fig}: {caption}"))
    return blocks


def _floor_text(meta: dict) -> str:
    floor = meta.get("gemm_floor_seconds")
    if not floor:
        return ""
    return (f" against a floor of {floor:.1f} s (the trainings' products alone, measured on "
            f"this machine: the MLP autoencoders' GEMMs, the conv DAEs', CNN's and FixMatch "
            f"students' forward and backward passes; fine-tuning, KNN, evaluation and figures "
            f"not counted: "
            f"{meta['wall_seconds'] / floor:.2f}x)")


def markdown(blocks: list[tuple]) -> str:
    """``report.md`` from the blocks of :func:`document` (figures linked)."""
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
        elif b[0] == "figures":  # a row of figures in the HTML; one after another here
            for rel, caption in b[1]:
                lines += [f"![{caption}]({rel})", "", f"*{caption}*", ""]
    return "\n".join(lines) + "\n"


# A table sits in a scrolling box: wider than the page, it scrolls sideways instead of
# squeezing its columns. Numbers never wrap; a row label wraps only in lines of 16em or more.
# The headline's figures stand side by side (one under the other on a narrow screen).
STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
         ".table{overflow-x:auto;margin:1em 0}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:3px 7px;font-size:90%}"
         "td{white-space:nowrap}td.label{white-space:normal;min-width:16em}"
         "img{max-width:100%}.figures{display:flex;flex-wrap:wrap;gap:1em}"
         ".figures figure{flex:1 1 400px;margin:0}")  # fmt: skip


def _figure(out: Path, rel: str, caption: str) -> str:
    data = base64.b64encode((out / rel).read_bytes()).decode()
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def html_page(blocks: list[tuple], out: Path) -> str:
    """``report.html`` from the blocks of :func:`document`, self-contained: the figures under
    ``out`` are embedded as base64."""
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
            rows = "".join(f"<tr><td class='label'>{e(r[0])}</td>"
                           + "".join(f"<td>{e(c)}</td>" for c in r[1:]) + "</tr>"
                           for r in b[2])  # fmt: skip
            body.append(f"<div class='table'><table><tr>{head}</tr>{rows}</table></div>")
        elif b[0] == "figure":
            body.append(_figure(out, b[1], b[2]))
        elif b[0] == "figures":
            body.append(f"<div class='figures'>{''.join(_figure(out, *f) for f in b[1])}</div>")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>sdae reproduction</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n")


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


def _ladder_plot(out: Path, tables: dict, preset: dict) -> tuple[str, str]:
    """Draw the ladder's accuracy plot into ``out/figures``; returns (path, caption)."""
    rel = f"figures/fig{LADDER_PLOT.zfill(3)}_ladder.png"
    ladder_figure(out / rel, tables, preset)
    return rel, ("Accuracy against labelled images per class, one line per method (mean ± std "
                 "over the label draws)" + (", the best published result marked"
                                            if on_fashion(preset) else ""))


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
        tables, layout = build_ladder(results, preset), LADDER_LAYOUT
        summary = ladder_summary(tables, preset)
        headline = ladder_headline(tables, on_fashion(preset), preset)
    else:
        tables, layout = build_tables(results), PAPER_LAYOUT
        summary, headline = summarize(tables, preset), paper_headline(tables)
    figs = _collect_figures(out, results)
    if ladder:
        figs[LADDER_PLOT] = _ladder_plot(out, tables, preset)
    meta = {"preset": preset, "args": args, "wall_seconds": wall_seconds,
            "gemm_floor_seconds": gemm_floor_seconds}
    blocks = document(tables, summary, headline, figs, meta, layout)
    experiments = {r.experiment.name: r.as_json() for r in results}
    doc = to_jsonable({**meta, "summary": summary,
                       "tables": {tid: t.as_json() for tid, t in tables.items()},
                       "figures": {k: v[0] for k, v in figs.items()},
                       "experiments": experiments})  # fmt: skip
    _write_if_changed(out / "report.md", markdown(blocks))
    _write_if_changed(out / "report.html", html_page(blocks, out))
    path = out / "results.json"
    if not path.exists() or read_json(path, "delete it; it is written again") != doc:
        write_json(path, doc)
    return doc
