"""The method ladder (``sdae reproduce --preset beyond``): how much accuracy each method gets
from the paper's label budgets, on the same label draws.

At 1, 5 and 10 labelled images per class, for label draws ``0 .. draws-1`` (each a
``--labels-seed``), every method sees the same labelled images:

- ``paper``: the paper's recipe, the 784-100 stack pretrained on the unlabelled pool
  (Table VII) and fine-tuned at lr 0.5 / 0.001 (Tables VIII, IX, §VI.B);
- ``mlp``: the same 784-100 network and fine-tuning from random weights
  (``sdae baseline mlp``): what the pretraining adds;
- ``logreg`` and ``knn``: logistic regression and 1-NN on raw pixels;
- ``semi``: ``sdae semi``, the labelled images and the unlabelled pool together.

The report gives each method's mean ± std over the draws, and its paired difference against
the paper's recipe: draw by draw, so the luck of a draw cancels out.
"""

from __future__ import annotations

from sdae.reproduce.plan import Experiment, ExperimentResult, select
from sdae.reproduce.rows import Row, Table, cell

LADDER_LABELS = (1, 5, 10)


PAPER_LR = {"lr_top": 0.5, "lr_body": 0.001}  # Tables VIII, IX best rows and §VI.B


#: method -> (kind of its experiments, what the report calls it)
METHODS = {
    "paper": ("finetune", "paper's recipe: 784-100 SAE pretrained on the pool, fine-tuned"),
    "mlp": ("mlp", "784-100 from random weights (baseline mlp)"),
    "logreg": ("logreg", "logistic regression, raw pixels"),
    "knn": ("knn", "1-NN, raw pixels"),
    "semi": ("semi", "sdae semi: label spreading on the SAE's codes and HOG, then two rounds "
                      "of FixMatch, with the pool"),
}


#: what the paper reports at each budget (Table VIII row 1, Table IX row 2, §VI.B)
PAPER_ACCURACY = {1: 55.0, 5: 70.2, 10: 76.7}


#: issue 11's goals for the semi-supervised recipe (the paper protocol's; issue 21 set the full
#: protocol's)
GOALS = {1: 65.0, 5: 78.0, 10: 82.0}
FULL_GOALS = {1: 70.0, 5: 80.0, 10: 85.0}


#: the best published result we know at these budgets on Fashion-MNIST, mean ± std: Poisson-MBO
#: on VAE codes (Calder, Cook, Thorpe & Slepcev, ICML 2020, Table 3; 100 label draws,
#: transductive over all 70000 images)
PUBLISHED = ("Poisson-MBO (Calder et al., 2020)", {1: (62.0, 5.7), 5: (73.1, 2.7),
                                                   10: (76.1, 1.4)})  # fmt: skip


def goals_of(preset: dict) -> dict[int, float]:
    """The goals of the semi-supervised recipe on ``preset``'s protocol."""
    return FULL_GOALS if preset.get("protocol") == "full" else GOALS


def ladder_figure(path, tables: dict[str, Table], preset: dict):
    """``path``: accuracy against labels per class, one line per method (mean ± std over
    the draws) and, on Fashion-MNIST, the published anchor (:data:`PUBLISHED`) marked."""
    from sdae.io import figures  # matplotlib only where a figure is drawn

    series = {}
    for row in tables["ladder"].rows:
        cells = [row.cells[budget_key(k)] for k in LADDER_LABELS]
        series[METHODS[row.method][1]] = ([c["ours"] for c in cells], [c["std"] for c in cells])
    name, published = PUBLISHED
    anchors = {name: ([published[k][0] for k in LADDER_LABELS],
                      [published[k][1] for k in LADDER_LABELS])} if on_fashion(preset) else {}
    where = f"{preset.get('data', 'fashion-mnist')}, {preset.get('protocol')} protocol"
    return figures.accuracy_ladder(path, LADDER_LABELS, series, anchors,
                                   title=f"The method ladder ({where})")


def _method_experiment(method: str, seed: int, labels: int, draw: int) -> Experiment:
    kind = METHODS[method][0]
    extra = {"arch": 3, **PAPER_LR} if method == "paper" else {}
    return Experiment(kind, seed, labels=labels, draw=draw, **extra)


def ladder_plan(seeds: int, draws: int) -> list[Experiment]:
    """Every experiment of the ladder for weight seeds ``0 .. seeds-1`` and label draws
    ``0 .. draws-1``, each after what it needs (the paper recipe's pretrained stack)."""
    out: list[Experiment] = []
    for s in range(seeds):
        out.append(Experiment("pretrain", s, arch=3, table="VII"))
        for labels in LADDER_LABELS:
            for d in range(draws):
                out += [_method_experiment(m, s, labels, d) for m in METHODS]
    return out


def _accuracies(results: list[ExperimentResult], method: str, labels: int) -> dict:
    """(seed, draw) -> test accuracy in %, for one method and budget."""
    kind = METHODS[method][0]
    return {(r.experiment.seed, r.experiment.draw): 100 * r.metrics["test_accuracy"]
            for r in select(results, kind=kind, labels=labels)
            if r.experiment.draw is not None}  # fmt: skip


def budget_key(labels: int) -> str:
    """The column key of a label budget in the ladder's tables (``5 per class``): made here
    only, so that a reader finds a budget's cell from the number."""
    return f"{labels} per class"


def on_fashion(preset: dict) -> bool:
    """Whether the ladder ran on Fashion-MNIST: only there do the paper's numbers apply."""
    return preset.get("data", "fashion-mnist") == "fashion-mnist"


def build_ladder(results: list[ExperimentResult], preset: dict | None = None
                 ) -> dict[str, Table]:  # fmt: skip
    """``ladder``: each method's test accuracy (%) per budget, the paper's value beside its
    recipe (on Fashion-MNIST); ``paired``: each method minus the paper's recipe on the same
    (seed, draw). A row's ``method`` is its key in :data:`METHODS`."""
    rows, paired, fashion = [], [], on_fashion(preset or {})
    base = {k: _accuracies(results, "paper", k) for k in LADDER_LABELS}
    for method, (_, title) in METHODS.items():
        cells, pcells = {}, {}
        for k in LADDER_LABELS:
            acc = _accuracies(results, method, k)
            paper = PAPER_ACCURACY[k] if method == "paper" and fashion else None
            cells[budget_key(k)] = cell(paper, list(acc.values()), "accuracy", judge=False)
            same = sorted(set(acc) & set(base[k]))
            pcells[budget_key(k)] = {
                **cell(None, [acc[d] - base[k][d] for d in same], "accuracy"),
                "wins": sum(acc[d] > base[k][d] for d in same)}  # fmt: skip
        rows.append(Row(title, cells, method=method))
        if method != "paper":
            paired.append(Row(title, pcells, method=method))
    return {
        "ladder": Table("Test accuracy (%) at 1 / 5 / 10 labelled images per class, "
                        "mean ± std over label draws; the paper's numbers beside its recipe",
                        rows),
        "paired": Table("Paired difference against the paper's recipe (accuracy points, "
                        "same label draws), mean ± std; n is the number of draws", paired),
    }  # fmt: skip


def ladder_summary(tables: dict[str, Table], preset: dict) -> list[str]:
    """The report's summary lines: the semi-supervised recipe against the paper and the
    goals, draw for draw (rows found by their ``method``)."""
    semi, paper = tables["ladder"].find(method="semi"), tables["ladder"].find(method="paper")
    paired = tables["paired"].find(method="semi")
    lines = []
    for k in LADDER_LABELS:
        s, p = semi.cells[budget_key(k)], paper.cells[budget_key(k)]
        if s["ours"] is None or p["ours"] is None:
            continue
        d = paired.cells[budget_key(k)]
        anchors = f" (the paper: {PAPER_ACCURACY[k]:g} %; best published {PUBLISHED[1][k][0]:g} " \
            f"%; goal {goals_of(preset)[k]:g} %)" if on_fashion(preset) else ""  # fmt: skip
        lines.append(
            f"{k} label(s) per class: sdae semi {s['ours']:.1f} % against the paper's recipe "
            f"{p['ours']:.1f} %{anchors}; paired difference {d['ours']:+.1f} points, better on "
            f"{d['wins']} of {d['n']} draws.")  # fmt: skip
    if not on_fashion(preset):
        lines.append(f"On {preset.get('data')} ({preset.get('protocol')} protocol): the "
                     "paper's numbers are Fashion-MNIST's and are not set beside these.")
    if preset.get("name") not in ("beyond", "beyond-full"):
        lines.append(f"Preset `{preset.get('name')}` runs the ladder small (the "
                     f"`{preset.get('protocol')}` protocol, fewer draws and iterations): a "
                     "preview. Run `sdae reproduce --preset beyond` for the numbers.")
    return lines
