"""The report's tables as data: a :class:`Table` of :class:`Row` s, each row's fields typed.

A row says what it is in its fields (a DAE row: ``model``, ``train_noise``, ``test_noise``,
``reading``; a denoise-then-classify row: ``classifier``, ``input``; a ladder row:
``method``) and what it measured in its cells (column key -> :func:`cell`). Its ``label`` is
display text only: the summaries and the headline find rows by their fields
(:meth:`Table.find`), so a reworded label changes no number. In ``results.json`` a row is its
label, its cells under their column keys (as before rows were typed) and ``fields``.
"""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass, field
from typing import Any

ACC_TOL, COST_TOL = 5.0, 0.15  # "reproduced": within 5 accuracy points / 15 % of a cost


def stats(values: list[float]) -> dict[str, Any]:
    """Mean, standard deviation (None for one value) and count of ``values``."""
    return {"mean": statistics.fmean(values), "n": len(values),
            "std": statistics.stdev(values) if len(values) > 1 else None}  # fmt: skip


def cell(paper: float | None, ours: list[float], kind: str, judge: bool = True) -> dict[str, Any]:
    """One number of the report: the paper's value, ours over seeds or draws (mean, std, n,
    every value) and the difference. ``kind`` accuracy | cost | score; ``reproduced`` says
    whether ours is within :data:`ACC_TOL` points (accuracy) or :data:`COST_TOL` (cost) of the
    paper's, None where there is no paper value or ``judge`` is False (the ladder sets the
    paper's number beside its recipe without judging it)."""
    s = stats(ours) if ours else {"mean": None, "std": None, "n": 0}
    diff = None if paper is None or s["mean"] is None else s["mean"] - paper
    ok = None
    if diff is not None and judge:
        ok = abs(diff) <= ACC_TOL if kind == "accuracy" else abs(diff) <= COST_TOL * abs(paper)
    return {"paper": paper, "ours": s["mean"], "std": s["std"], "n": s["n"], "diff": diff,
            "reproduced": ok, "kind": kind, "values": list(ours)}  # fmt: skip


@dataclass(frozen=True)
class Row:
    """One row of a report table. ``cells``: column key -> :func:`cell`, in column order.
    The other fields say what the row is; each table sets those that apply, None elsewhere:

    - pretraining (Tables I, IV, VII): ``layer`` (1 = the first), ``sizes`` ("784-500-784"),
      ``lr``, ``iterations``;
    - fine-tuning (II, III, V, VI, VIII, IX, 10 labels): ``arch``, ``labels``, ``lr_top``,
      ``lr_body``;
    - Table X: ``model`` (the paper's: "Network1" .. "Network3", "KNN", "CNN");
    - DAE: ``model`` (mlp | conv), ``train_noise``, ``test_noise``, ``reading`` (one-draw |
      fresh-draw);
    - denoise-then-classify: ``classifier`` (cnn | sae), ``input`` (noisy | median | ...);
    - the method ladder and its paired differences: ``method`` (paper | mlp | ... | semi).
    """

    label: str
    cells: dict[str, dict[str, Any]] = field(default_factory=dict)
    layer: int | None = None
    sizes: str | None = None
    lr: float | None = None
    iterations: int | None = None
    arch: int | None = None
    labels: int | None = None
    lr_top: float | None = None
    lr_body: float | None = None
    model: str | None = None
    train_noise: float | None = None
    test_noise: float | None = None
    reading: str | None = None
    classifier: str | None = None
    input: str | None = None
    method: str | None = None

    @property
    def fields(self) -> dict[str, Any]:
        """The fields this row sets (those not None), in declaration order."""
        return {f: getattr(self, f) for f in FIELDS if getattr(self, f) is not None}

    def matches(self, **fields: Any) -> bool:
        """Whether every given field has the given value (an unknown field is an error)."""
        unknown = set(fields) - set(FIELDS)
        if unknown:
            raise TypeError(f"a report row has no field(s) {sorted(unknown)}")
        return all(getattr(self, k) == v for k, v in fields.items())

    def as_json(self) -> dict[str, Any]:
        """Its ``results.json`` entry: ``label``, each cell under its column key, ``fields``."""
        return {"label": self.label, **self.cells, "fields": self.fields}


FIELDS = tuple(f.name for f in dataclasses.fields(Row) if f.name not in ("label", "cells"))


@dataclass(frozen=True)
class Table:
    """A report table: its caption and rows (every row has the same column keys)."""

    caption: str
    rows: list[Row] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """The column keys of its cells, in order (none for an empty table)."""
        return list(self.rows[0].cells) if self.rows else []

    def where(self, **fields: Any) -> list[Row]:
        """The rows whose fields have these values, in table order."""
        return [r for r in self.rows if r.matches(**fields)]

    def find(self, **fields: Any) -> Row | None:
        """The one row whose fields have these values; None if there is none. Two rows that
        match are a mistake in the caller's fields, not a choice to make silently."""
        found = self.where(**fields)
        if len(found) > 1:
            raise LookupError(f"{len(found)} rows match {fields}: {[r.label for r in found]}")
        return found[0] if found else None

    def as_json(self) -> dict[str, Any]:
        """Its ``results.json`` entry: ``caption`` and ``rows``."""
        return {"caption": self.caption, "rows": [r.as_json() for r in self.rows]}


def ours(row: Row | None, column: str) -> float | None:
    """Our mean in ``row``'s cell ``column``; None if the row or cell is missing or empty."""
    if row is None or column not in row.cells:
        return None
    return row.cells[column]["ours"]
