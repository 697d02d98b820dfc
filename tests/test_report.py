import pytest

from sdae.reproduce.render import _md
from sdae.reproduce.tables import cell, summarize


def test_cell_mean_std_diff_and_verdict():
    c = cell(70.0, [66.0, 68.0, 70.0], "accuracy")
    assert c["ours"] == pytest.approx(68.0) and c["std"] == pytest.approx(2.0)
    assert c["diff"] == pytest.approx(-2.0) and c["reproduced"] is True and c["n"] == 3
    far = cell(256.0, [200.0], "cost")
    assert far["std"] is None and far["reproduced"] is False  # 22 % off a cost
    assert cell(None, [1.0], "score")["reproduced"] is None


def test_markdown_table_rendering():
    md = _md([("h2", "Table I: x"), ("table", ["row", "a"], [["r1", "1"]])])
    assert "## Table I: x" in md and "| row | a |" in md and "| r1 | 1 |" in md


def test_summary_counts_cells():
    tables = {"III": {"rows": [{"label": "r", "test_accuracy": cell(64.7, [60.0], "accuracy")}]},
              "DAE": {"rows": []}}
    lines = summarize(tables, {"name": "paper"})
    assert lines[0].startswith("1 of 1 comparable cells reproduce")
