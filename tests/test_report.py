"""The report: its cells, typed rows found by their fields (never by their labels), the
first screen, and the HTML's readable tables. Public functions only."""

import dataclasses
import json

import pytest

from sdae.reproduce.headline import ladder_headline, paper_headline
from sdae.reproduce.ladder import budget_key, build_ladder, ladder_summary
from sdae.reproduce.presets import PRESETS
from sdae.reproduce.render import markdown, write_report
from sdae.reproduce.robustness import level_key
from sdae.reproduce.robustness import table as robustness_table
from sdae.reproduce.rows import Row, Table, cell
from sdae.reproduce.tables import build_tables, summarize


def test_cell_mean_std_diff_and_verdict():
    c = cell(70.0, [66.0, 68.0, 70.0], "accuracy")
    assert c["ours"] == pytest.approx(68.0) and c["std"] == pytest.approx(2.0)
    assert c["diff"] == pytest.approx(-2.0) and c["reproduced"] is True and c["n"] == 3
    far = cell(256.0, [200.0], "cost")
    assert far["std"] is None and far["reproduced"] is False  # 22 % off a cost
    assert cell(None, [1.0], "score")["reproduced"] is None
    assert cell(70.0, [70.0], "accuracy", judge=False)["reproduced"] is None


def test_markdown_table_rendering():
    md = markdown([("h2", "Table I: x"), ("table", ["row", "a"], [["r1", "1"]])])
    assert "## Table I: x" in md and "| row | a |" in md and "| r1 | 1 |" in md


def test_rows_are_found_by_fields_and_keep_their_json_keys():
    t = Table("t", [Row("a", {"x": cell(None, [1.0], "score")}, model="mlp", test_noise=0.1),
                    Row("b", {"x": cell(None, [2.0], "score")}, model="conv", test_noise=0.1)])
    assert t.find(model="conv").label == "b" and t.find(model="conv", test_noise=0.3) is None
    assert [r.label for r in t.where(test_noise=0.1)] == ["a", "b"]
    with pytest.raises(LookupError, match="2 rows match"):
        t.find(test_noise=0.1)
    with pytest.raises(TypeError, match="no field"):
        t.find(modle="mlp")
    assert t.as_json()["rows"][1] == {"label": "b", "x": t.rows[1].cells["x"],
                                      "fields": {"model": "conv", "test_noise": 0.1}}


def test_summary_counts_cells():
    tables = {"III": Table("", [Row("r", {"test_accuracy": cell(64.7, [60.0], "accuracy")})]),
              "DAE": Table("")}
    lines = summarize(tables, {"name": "paper"})
    assert lines[0].startswith("1 of 1 comparable cells reproduce")


def _relabel(table: Table, value: float, **fields) -> Table:
    """``table`` with the row of these fields renamed and each of its cells set to ``value``."""
    row = table.find(**fields)
    new = dataclasses.replace(row, label="renamed by a reader",
                              cells={k: cell(None, [value], "score") for k in row.cells})
    return dataclasses.replace(table, rows=[new if r is row else r for r in table.rows])


def _robust(levels=(0.0, 0.3)) -> Table:
    acc = {c: {i: [0.5] * len(levels) for i in ("noisy", "median", "adaptive_median",
                                                 "mlp_dae", "conv_dae")} for c in ("cnn", "sae")}
    return robustness_table([{"levels": list(levels), "dae_noise": 0.3, "accuracy": acc}])


def test_summary_and_headline_find_rows_by_fields_not_labels():
    tables = build_tables([])
    tables["DAE"] = _relabel(tables["DAE"], 1.25, model="mlp", train_noise=0.5, test_noise=0.5,
                             reading="one-draw")
    tables["DAE"] = _relabel(tables["DAE"], 7.5, model="conv", train_noise=0.3, test_noise=0.3,
                             reading="one-draw")
    tables["robust"] = _relabel(_robust(), 42.0, classifier="cnn", input="conv_dae")
    tables["robust"] = _relabel(tables["robust"], 17.0, classifier="cnn", input="noisy")
    text = " ".join(summarize(tables, {"name": "paper"}))
    assert "(PSNR 1.25 dB vs mean image 1.25 dB)" in text
    assert "scores 17.0 % on the noisy images and 42.0 % after the conv DAE" in text
    assert "in 0 of 1 settings" in text  # the one conv row with numbers, found by its model
    head = paper_headline(tables)
    conv = head.table.find(input="conv_dae").cells
    assert conv["PSNR (dB), train / test noise 0.3"]["ours"] == 7.5
    assert conv["CNN baseline accuracy (%) at p = 0.3"]["ours"] == 42.0
    assert conv["PSNR (dB), train / test noise 0.1"]["ours"] is None  # not run: empty
    assert head.table.find(input="noisy").cells["SAE 784-100 accuracy (%) at p = 0.3"][
        "ours"] == 50.0
    assert head.lines == []  # no cell of the paper's has a number of ours to judge


def test_robustness_cells_are_keyed_by_level():
    t = _robust(levels=(0.0, 0.05, 0.3))
    assert t.columns == [level_key(0.0), level_key(0.05), level_key(0.3)] == \
        ["p=0", "p=0.05", "p=0.3"]  # fmt: skip
    assert t.find(classifier="sae", input="median").cells[level_key(0.3)]["ours"] == 50.0


def test_ladder_summary_and_headline_find_rows_by_method():
    tables = build_ladder([])
    for name, method, value in (("ladder", "semi", 61.0), ("ladder", "paper", 50.0),
                                ("paired", "semi", 11.0)):  # fmt: skip
        t = _relabel(tables[name], value, method=method)
        for r in t.rows:  # a paired cell also counts the draws it wins
            r.cells.update({k: {**c, "wins": 1} for k, c in r.cells.items()})
        tables[name] = t
    lines = ladder_summary(tables, {"name": "beyond"})
    assert lines[1].startswith("5 label(s) per class: sdae semi 61.0 % against the paper's "
                               "recipe 50.0 %") and "paired difference +11.0 points" in lines[1]
    head = ladder_headline(tables)
    assert head.table.find(method="semi").cells[budget_key(10)]["ours"] == 61.0
    assert head.figures == ("16", "15", "14")  # the accuracy plot first
    assert head.lines == ["sdae semi beats the paper's recipe on 3 of 3 label draws, the same "
                          "draws for both (1 / 5 / 10 labels per class: 1/1, 1/1, 1/1)."]
    assert ladder_headline(build_ladder([])).lines == []  # nothing run: no count


def test_first_screen_is_the_headline_and_html_tables_are_readable(tmp_path):
    doc = write_report(tmp_path, preset=PRESETS["smoke"], args={"seeds": 1}, results=[],
                       wall_seconds=1.0)
    md = (tmp_path / "report.md").read_text()
    blocks = [line for line in md.splitlines() if line.startswith("#")]
    assert blocks[:3] == ["# sdae: reproduction of Yaramsetty et al.", "## Headline results",
                          "## Summary"]  # fmt: skip
    assert md.index("| input | PSNR (dB), train / test noise 0.1 |") < md.index("## Summary")
    html = (tmp_path / "report.html").read_text()
    assert "</h1><h2>Headline results</h2>" in html
    assert "td.label{white-space:normal;min-width:16em}" in html
    assert "td{white-space:nowrap}" in html and ".table{overflow-x:auto" in html
    assert "<div class='table'><table>" in html
    assert "<td class='label'>784-500-784 (lr 0.01, 1000 it.)</td>" in html
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["tables"] == doc["tables"]
    row = saved["tables"]["DAE"]["rows"][-1]
    assert row["fields"] == {"model": "conv", "train_noise": 0.5, "test_noise": 0.5,
                             "reading": "fresh-draw"} and row["psnr_denoised"]["n"] == 0
