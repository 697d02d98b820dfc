"""The reproduction report: each of the paper's numbers beside ours, as Markdown and HTML.

:func:`build_tables` turns the experiments' results into tables I-X (plus the DAE and
ten-label tables the paper reports in its text): for every cell the paper's value, ours as
mean and standard deviation over seeds and label draws, and the difference. The document
is a list of blocks rendered twice: ``report.md`` (figures linked) and a self-contained
``report.html`` (figures embedded as base64). ``results.json`` holds every number.
"""

from __future__ import annotations

import base64
import html
import statistics
from pathlib import Path
from typing import Any

from sdae.outputs import atomic_write_text, copy_file, read_json, to_jsonable, write_json
from sdae.paper import load_paper_numbers, paper_table
from sdae.plan import (
    FINETUNE_TABLES,
    FRESH,
    KNN_LABELS,
    PRETRAIN_TABLE,
    TEN_LABELS,
    ExperimentResult,
    select,
)
from sdae.robustness import table as robustness_table

ACC_TOL, COST_TOL = 5.0, 0.15  # "reproduced": within 5 accuracy points / 15 % of a cost
_DAE = {"kind": "dae", "noise": "salt-and-pepper", "model": "mlp"}
FIGURES = {  # paper figure -> (which experiment, file in its folder, caption)
    "5": ({**_DAE, "train_noise": 0.1}, "cost.png",
          "Training cost vs iterations, train noise 0.1"),
    "6": ({**_DAE, "train_noise": 0.1}, "reconstructions_test0.1.png",
          "Train noise 0.1, test noise 0.1"),
    "7": ({**_DAE, "train_noise": 0.3}, "cost.png",
          "Training cost vs iterations, train noise 0.3"),
    "8": ({**_DAE, "train_noise": 0.3}, "reconstructions_test0.5.png",
          "Train noise 0.3, test noise 0.5"),
    "9": ({**_DAE, "train_noise": 0.5}, "cost.png",
          "Training cost vs iterations, train noise 0.5"),
    "10": ({**_DAE, "train_noise": 0.5}, "reconstructions_test0.3.png",
           "Train noise 0.5, test noise 0.3"),
    "11": ({**_DAE, "train_noise": 0.5}, "reconstructions_test0.5.png",
           "Train noise 0.5, test noise 0.5"),
    "12": ({"kind": "pretrain", "arch": 1}, "layer_costs.png",
           "Layer-wise pretraining costs, architecture 1"),
}
EXTRA_FIGURES = {
    "11b": ({"kind": "dae", "noise": FRESH, "train_noise": 0.5, "model": "mlp"},
            "reconstructions_test0.5.png",
            "Fresh-draw reading of the pseudo-code: train 0.5, test 0.5"),
    "6b": ({**_DAE, "model": "conv", "train_noise": 0.1}, "reconstructions_test0.1.png",
           "sdae's conv DAE: train noise 0.1, test noise 0.1"),
    "8b": ({**_DAE, "model": "conv", "train_noise": 0.3}, "reconstructions_test0.3.png",
           "sdae's conv DAE: train noise 0.3, test noise 0.3"),
    "10b": ({**_DAE, "model": "conv", "train_noise": 0.5}, "reconstructions_test0.3.png",
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


def _stats(values: list[float]) -> dict[str, Any]:
    return {"mean": statistics.fmean(values), "n": len(values),
            "std": statistics.stdev(values) if len(values) > 1 else None}  # fmt: skip


def _cell(paper: float | None, ours: list[float], kind: str) -> dict[str, Any]:
    s = _stats(ours) if ours else {"mean": None, "std": None, "n": 0}
    diff = None if paper is None or s["mean"] is None else s["mean"] - paper
    ok = None
    if diff is not None:
        ok = abs(diff) <= ACC_TOL if kind == "accuracy" else abs(diff) <= COST_TOL * abs(paper)
    return {"paper": paper, "ours": s["mean"], "std": s["std"], "n": s["n"], "diff": diff,
            "reproduced": ok, "kind": kind, "values": list(ours)}  # fmt: skip


def _metrics(results: list[ExperimentResult], **fields) -> list[dict[str, Any]]:
    return [r.metrics for r in select(results, **fields)]


def build_tables(results: list[ExperimentResult]) -> dict[str, dict]:
    """Tables I-X plus ``DAE`` and ``10 labels``: rows of cells paper / ours / difference."""
    tables: dict[str, dict] = {}
    for k, tid in PRETRAIN_TABLE.items():
        runs = _metrics(results, kind="pretrain", arch=k)
        rows = [{"label": f"{row['layer']} (lr {row['lr']}, {row['iterations']} it.)",
                 "final_cost": _cell(row["final_cost"],
                                     [m["pretrain_final_costs"][i] for m in runs], "cost")}
                for i, row in enumerate(paper_table(tid)["rows"])]  # fmt: skip
        tables[tid] = {"caption": paper_table(tid)["caption"], "rows": rows}
    for (k, labels), tid in FINETUNE_TABLES.items():
        rows = []
        for row in paper_table(tid)["rows"]:
            m = _metrics(results, kind="finetune", arch=k, labels=labels, lr_top=row["lr_top"],
                         lr_body=row["lr_body"])  # fmt: skip
            rows.append({
                "label": f"lr top {row['lr_top']}, body {row['lr_body']}",
                "final_cost": _cell(row["final_cost"], [x["finetune_final_cost"] for x in m],
                                    "cost"),
                "train_accuracy": _cell(row["train_accuracy"],
                                        [100 * x["train_accuracy"] for x in m], "accuracy"),
                "test_accuracy": _cell(row["test_accuracy"],
                                       [100 * x["test_accuracy"] for x in m], "accuracy"),
            })  # fmt: skip
        tables[tid] = {"caption": paper_table(tid)["caption"], "rows": rows}
    paper = load_paper_numbers()
    ten = _metrics(results, kind="finetune", **TEN_LABELS)
    tables["10 labels"] = {"caption": "Ten labelled images per class (§VI.B), 784-100, "
                           "lr 0.5 / 0.001", "rows": [{"label": "test accuracy", "test_accuracy":
                           _cell(paper["ten_labels_test_accuracy"],
                                 [100 * m["test_accuracy"] for m in ten], "accuracy")}]}
    tables["X"] = _table_x(results, tables)
    tables["DAE"] = _dae_table(results)
    tables["robust"] = robustness_table([r.metrics for r in select(results, kind="robust")],
                                        lambda values: _cell(None, values, "accuracy"))
    return tables


def _table_x(results: list[ExperimentResult], tables: dict) -> dict:
    """Networks: the best of our three 5-label rows per architecture (the paper's values are
    its best rows: Table III row 2, Table IX row 2); KNN; CNN."""
    rows = []
    for row in paper_table("X")["rows"]:
        label = f"{row['model']} ({row.get('architecture', '')})".replace(" ()", "")
        if row["model"].startswith("Network"):
            tid = {"Network1": "III", "Network2": "VI", "Network3": "IX"}[row["model"]]
            best = max(tables[tid]["rows"], key=lambda r: r["test_accuracy"]["ours"] or -1)
            cell = _cell(row["accuracy"], best["test_accuracy"]["values"], "accuracy")
            label += f", best 5-label row: {best['label']}"
        else:
            runs = select(results, kind="knn" if row["model"] == "KNN" else "cnn")
            cell = _cell(row["accuracy"], [100 * r.metrics["test_accuracy"] for r in runs],
                         "accuracy")  # fmt: skip
            if row["model"] == "KNN":
                label += f" (1-NN, raw pixels, {KNN_LABELS} labels/class)"
            elif runs:
                c = runs[0].config
                label += f" ({c.protocol} protocol, all labels, {c.settings.epochs} epochs)"
        rows.append({"label": label, "test_accuracy": cell})
    return {"caption": paper_table("X")["caption"], "rows": rows}


DAE_KEYS = ("psnr_noisy", "psnr_median", "psnr_adaptive_median", "psnr_denoised",
            "psnr_mean_image", "ssim_noisy", "ssim_median", "ssim_adaptive_median",
            "ssim_denoised")  # fmt: skip
DAE_ROWS = ((0.1, (0.1,), _DAE["noise"], "one-draw"), (0.3, (0.5, 0.3), _DAE["noise"], "one-draw"),
            (0.5, (0.3, 0.5), _DAE["noise"], "one-draw"),
            (0.5, (0.3, 0.5), FRESH, "fresh-draw"))  # fmt: skip


def _dae_table(results: list[ExperimentResult]) -> dict:
    """Experiments 1-4 (and the fresh-draw reading), the paper's MLP DAE and sdae's conv DAE:
    PSNR / SSIM against the median filters. The paper reports pictures only, so there is no
    paper column. The conv rows' labels start with ``conv:``."""
    rows = []
    for model in ("mlp", "conv"):
        for train, tests, noise, reading in DAE_ROWS:
            runs = _metrics(results, kind="dae", train_noise=train, noise=noise, model=model)
            for q in tests:
                m = [x["tests"][str(q)] for x in runs if str(q) in x["tests"]]
                prefix = "conv: " if model == "conv" else ""
                row = {"label": f"{prefix}train {train} / test {q} ({reading})"}
                for key in DAE_KEYS:
                    row[key] = _cell(None, [x[key] for x in m if key in x], "score")
                rows.append(row)
    return {"caption": "Denoising quality (mean over test images; dB for PSNR): the paper's "
            "MLP DAE, then sdae's conv DAE (`conv:`)", "rows": rows}  # fmt: skip


def summarize(tables: dict, preset: dict) -> list[str]:
    """What reproduced, what did not, and why: the report's opening lines."""
    cells = [(tid, row["label"], key, c) for tid, t in tables.items() for row in t["rows"]
             for key, c in row.items() if isinstance(c, dict) and c.get("reproduced") is not None]
    good = [c for c in cells if c[3]["reproduced"]]
    lines = [f"{len(good)} of {len(cells)} comparable cells reproduce (accuracy within "
             f"{ACC_TOL:g} points, cost within {COST_TOL:.0%})."]  # fmt: skip
    misses = [c for c in cells if not c[3]["reproduced"]]
    if misses:
        worst = sorted(misses, key=lambda c: -abs(c[3]["diff"]) / max(abs(c[3]["paper"]), 1))
        lines.append("Largest misses: " + "; ".join(
            f"Table {t} {lab} {k.replace('_', ' ')}: paper {c['paper']:g}, ours {c['ours']:.4g}"
            for t, lab, k, c in worst[:4]) + ".")  # fmt: skip
    dae = {r["label"]: r for r in tables["DAE"]["rows"]}
    half = dae.get("train 0.5 / test 0.5 (one-draw)")
    fresh = dae.get("train 0.5 / test 0.5 (fresh-draw)")
    if half and half["psnr_denoised"]["ours"] is not None:
        lines.append(
            "Test noise 0.5 leaves no information under the one-draw reading of the pseudo-code "
            "(every pixel becomes 0 or 1): the DAE can only output the mean image (PSNR "
            f"{half['psnr_denoised']['ours']:.2f} dB vs mean image "
            f"{half['psnr_mean_image']['ours']:.2f} dB), as the paper's 'almost similar to each "
            "other and blurred' describes."
            + (f" Under the fresh-draw reading a quarter of the pixels survive and the DAE "
               f"reaches {fresh['psnr_denoised']['ours']:.2f} dB."
               if fresh and fresh["psnr_denoised"]["ours"] is not None else ""))  # fmt: skip
    lines += _beyond_lines(tables)
    lines.append("Fine-tuning final costs depend on how a cost is averaged, which the paper does "
                 "not say; its accuracies are on a 600-image test subset, so one image is "
                 "0.17 points and the spread over label draws is several points.")
    first = [tables[t]["rows"][0]["final_cost"] for t in ("I", "IV", "VII") if t in tables]
    if len(first) == 3 and all(c["ours"] is not None for c in first):
        lines.append(
            "Pretraining runs Adam at the paper's learning rates and iterations (sdae's default, "
            "for better features): first-layer costs "
            + " / ".join(f"{c['ours']:.0f}" for c in first) + " against the paper's "
            + " / ".join(f"{c['paper']:.0f}" for c in first) + " (Tables I, IV, VII). Plain "
            "gradient descent (`sdae sae --pretrain-optimizer sgd`) lands nearer the paper's "
            "costs (277 for 784-100) with weaker features. The paper's higher-layer costs "
            "(0.25, 9.13, 6.15) are far below any cross-entropy we measure for those layers; "
            "the paper does not say how they were computed.")  # fmt: skip
    if preset.get("name") != "paper":
        lines.append(f"Preset `{preset.get('name')}` runs the paper's experiments on "
                     f"the `{preset.get('protocol')}` protocol with fewer iterations: a preview, "
                     "not a reproduction. Run `sdae reproduce --preset paper` for that.")
    return lines


def _test_noise(label: str) -> float:
    return float(label.split(" / test ")[1].split(" ")[0])


def _beyond_lines(tables: dict) -> list[str]:
    """What sdae adds: the conv DAE against the median filter; denoise-then-classify."""
    lines = []
    conv = [r for r in tables.get("DAE", {}).get("rows", []) if r["label"].startswith("conv:")
            and _test_noise(r["label"]) < 0.5 and r["psnr_denoised"]["ours"] is not None]
    if conv:
        margins = [r["psnr_denoised"]["ours"] - r["psnr_median"]["ours"] for r in conv]
        wins = sum(m > 0 for m in margins)
        lines.append(f"sdae's conv DAE beats the 3x3 median filter (PSNR) in {wins} of "
                     f"{len(conv)} settings with test noise below 0.5 (margins "
                     f"{min(margins):+.1f} to {max(margins):+.1f} dB).")  # fmt: skip
    rows = {r["label"]: r for r in tables.get("robust", {}).get("rows", [])}
    raw, den = rows.get("CNN baseline on noisy input"), rows.get("CNN baseline on conv DAE")
    if raw and den and raw.get("p=0.3") and raw["p=0.3"]["ours"] is not None:
        lines.append(f"Denoise, then classify: at salt-and-pepper p = 0.3 the CNN baseline "
                     f"(trained on clean images) scores {raw['p=0.3']['ours']:.1f} % on the "
                     f"noisy images and {den['p=0.3']['ours']:.1f} % after the conv DAE.")
    return lines


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
        from sdae.ladder import build_ladder, ladder_summary

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
