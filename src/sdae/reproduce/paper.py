"""The numbers the paper reports, as data.

Every cell of the paper's Tables I-X is stored in ``paper_numbers.json`` (shipped inside the
``sdae`` package). Each row lives inside the table it was printed in, in printed order, so any
value returned here is traceable to its table and row: ``paper_table("III")["rows"][1]`` is
the second row of Table III. Values are copied as printed (accuracies in percent); where the
paper is self-contradictory the corrected value is stored next to the literal text
(``layer_as_printed``, ``architecture_as_printed``) and the anomaly is described in ``notes``.

Besides the tables the file holds a few body-text numbers: ``dae_experiments`` (the four
denoising runs of Sec. V.A), ``dae_setup``, ``data_setup``, ``stacked_setup`` and
``ten_labels_test_accuracy`` (Sec. VI.B).

This module uses only the standard library and imports nothing else from ``sdae``.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib.resources import files

__all__ = ["TABLE_IDS", "load_paper_numbers", "paper_table"]


TABLE_IDS: tuple[str, ...] = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


"""The paper's table ids, in order."""


_RESOURCE = "paper_numbers.json"


@lru_cache(maxsize=1)
def _load_cached() -> dict:
    text = (files("sdae.reproduce") / _RESOURCE).read_text(encoding="utf-8")
    return json.loads(text)


def load_paper_numbers() -> dict:
    """Return every number the paper reports, read from the packaged ``paper_numbers.json``.

    The file is parsed once and cached; each call returns a fresh deep copy, so callers may
    mutate the result freely. Keys: ``source``, ``tables`` (``"I"`` ... ``"X"``, each with
    ``title``, ``caption``, ``kind`` and ``rows``; every cell is traceable to its table),
    ``dae_experiments``, ``ten_labels_test_accuracy``, ``notes`` (paper anomalies) and a few
    body-text setup sections.
    """
    return copy.deepcopy(_load_cached())


def paper_table(table_id: str) -> dict:
    """Return one table of the paper (a deep copy) by its Roman-numeral id, e.g. ``"III"``.

    ``kind`` is ``"pretraining"`` (rows: ``layer``, ``lr``, ``iterations``, ``final_cost``),
    ``"finetuning"`` (rows: ``iterations``, ``lr_top``, ``lr_body``, ``final_cost``,
    ``train_accuracy``, ``test_accuracy``; plus ``labels_per_class``) or ``"comparison"``
    (Table X; rows: ``model``, ``accuracy``). Row ``k`` (0-based) is the paper's printed row
    ``k + 1`` of that table.

    Raises:
        KeyError: if ``table_id`` is not one of :data:`TABLE_IDS`.
    """
    tables = _load_cached()["tables"]
    key = table_id.strip().upper() if isinstance(table_id, str) else table_id
    if key not in tables:
        raise KeyError(
            f"unknown paper table id {table_id!r}; expected one of {', '.join(TABLE_IDS)} "
            "(Roman numerals as printed in the paper)"
        )
    return copy.deepcopy(tables[key])
