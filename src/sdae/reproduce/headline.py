"""The report's first screen: what a reader wants before the long tables.

For the paper presets: how many comparable cells reproduce, sdae's own parts against the
paper's (the conv DAE against the paper's MLP DAE and the median filters, in PSNR at test
noise 0.1 and 0.3, and the accuracy of classifiers trained on clean images on noisy images
at p = 0.3 through each of them), and the figures that show it. For the method ladder:
``sdae semi`` against the paper's recipe and the paper's numbers at 1 / 5 / 10 labels per
class, its confusion matrix and training cost. Every number is a cell of the long tables,
found there by its row's fields (:meth:`~sdae.reproduce.rows.Table.find`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sdae.reproduce.ladder import LADDER_LABELS, PAPER_ACCURACY, PUBLISHED, budget_key, goals_of
from sdae.reproduce.plan import ROBUST_DAE_NOISE
from sdae.reproduce.robustness import CLASSIFIERS, INPUTS, level_key
from sdae.reproduce.rows import Row, Table, cell
from sdae.reproduce.tables import judged_cells, reproduced_line


@dataclass(frozen=True)
class Headline:
    """The first screen: ``lines`` (a list), ``table`` (ours only: its cells are the long
    tables' cells; ``corner`` heads its row labels), ``figures`` (figure ids, as in the
    report's figure list)."""

    lines: list[str]
    table: Table
    figures: tuple[str, ...] = field(default=())
    corner: str = "row"


PAPER_FIGURES = ("8b", "13")  # the conv DAE at train / test noise 0.3; denoise-then-classify
LADDER_PLOT = "16"  # accuracy against labels per class, every method (render._ladder_plot)
# the plot, then sdae semi's confusion matrix and training cost at 5 labels
LADDER_FIGURES = (LADDER_PLOT, "15", "14")


HEADLINE_NOISES = (0.1, 0.3)  # test noises with information left (0.5 leaves none)
HEADLINE_LEVEL = ROBUST_DAE_NOISE  # denoise-then-classify at the noise its DAEs trained at


def _empty() -> dict:
    return cell(None, [], "score")


def _get(row: Row | None, column: str) -> dict:
    """``row``'s cell ``column``, or an empty cell (the row was not run)."""
    return row.cells[column] if row is not None and column in row.cells else _empty()


def paper_headline(tables: dict[str, Table]) -> Headline:
    """The paper presets' first screen (see the module's docstring)."""
    dae, robust = tables.get("DAE", Table("")), tables.get("robust", Table(""))

    def dae_row(model: str, q: float) -> Row | None:
        return dae.find(model=model, train_noise=q, test_noise=q, reading="one-draw")

    # input (as denoise-then-classify names it) -> (the DAE model whose row, the PSNR column)
    psnr = {"noisy": ("mlp", "psnr_noisy"), "median": ("mlp", "psnr_median"),
            "adaptive_median": ("mlp", "psnr_adaptive_median"),
            "mlp_dae": ("mlp", "psnr_denoised"), "conv_dae": ("conv", "psnr_denoised")}
    names = {"mlp_dae": "the paper's MLP DAE", "conv_dae": "sdae's conv DAE"}
    p = f"{HEADLINE_LEVEL:g}"
    rows = []
    for inp, (model, column) in psnr.items():
        cells = {f"PSNR (dB), train / test noise {q:g}": _get(dae_row(model, q), column)
                 for q in HEADLINE_NOISES}  # fmt: skip
        for c, title in CLASSIFIERS.items():
            short = "SAE 784-100" if c == "sae" else title
            cells[f"{short} accuracy (%) at p = {p}"] = _get(
                robust.find(classifier=c, input=inp), level_key(HEADLINE_LEVEL))
        rows.append(Row(names.get(inp, INPUTS[inp]), cells, input=inp))
    caption = ("sdae's parts against the paper's: denoising quality (PSNR, mean over test "
               "images; each DAE trained at its test noise) and denoise-then-classify "
               f"(classifiers trained on clean images, test images at salt-and-pepper p = {p}, "
               f"DAEs trained at p = {ROBUST_DAE_NOISE:g})")
    lines = [reproduced_line(tables)] if judged_cells(tables) else []
    return Headline(lines, Table(caption, rows), PAPER_FIGURES, "input")


def ladder_headline(tables: dict[str, Table], fashion: bool = True,
                    preset: dict | None = None) -> Headline:
    """The method ladder's first screen: ``sdae semi`` against the paper's recipe (run by
    sdae on the same draws) and, on Fashion-MNIST (``fashion``), the paper's own numbers, the
    best published result and the goals (of ``preset``'s protocol), per label budget."""
    ladder, paired, preset = tables["ladder"], tables["paired"], preset or {}

    def given(values: dict[int, float]) -> dict[str, dict]:  # fixed numbers, one per budget
        return {budget_key(k): cell(None, [values[k]], "accuracy") for k in LADDER_LABELS}

    def found(row: Row | None) -> dict[str, dict]:
        return {budget_key(k): _get(row, budget_key(k)) for k in LADDER_LABELS}

    rows = [Row("the paper (Tables VIII, IX, §VI.B)", given(PAPER_ACCURACY)),
            Row("the paper's recipe, run by sdae", found(ladder.find(method="paper")),
                method="paper"),
            Row("sdae semi", found(ladder.find(method="semi")), method="semi"),
            Row("sdae semi minus the paper's recipe, same draws (points)",
                found(paired.find(method="semi"))),
            Row(f"best published: {PUBLISHED[0]}, VAE codes, 70000 images",
                given({k: v[0] for k, v in PUBLISHED[1].items()})),
            Row("goal (issues 11, 21)", given(goals_of(preset)))]  # fmt: skip
    if not fashion:  # the paper's numbers, the published ones and the goals are Fashion-MNIST's
        rows = rows[1:-2]
    caption = ("Test accuracy (%) at 1 / 5 / 10 labelled images per class, mean ± std over "
               "label draws")
    return Headline(_wins_line(paired.find(method="semi")), Table(caption, rows), LADDER_FIGURES,
                    "method")


def _wins_line(paired: Row | None) -> list[str]:
    """On how many label draws ``sdae semi`` beats the paper's recipe, per budget."""
    cells = [_get(paired, budget_key(k)) for k in LADDER_LABELS]
    if paired is None or not all(c["n"] for c in cells):
        return []
    wins, n = sum(c["wins"] for c in cells), sum(c["n"] for c in cells)
    each = ", ".join(f"{c['wins']}/{c['n']}" for c in cells)
    return [f"sdae semi beats the paper's recipe on {wins} of {n} label draws, the same draws "
            f"for both (1 / 5 / 10 labels per class: {each})."]
