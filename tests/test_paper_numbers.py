"""The paper's numbers (``sdae/paper_numbers.json``) agree with the paper's text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sdae.reproduce.paper import TABLE_IDS, load_paper_numbers, paper_table

PAPER_TXT = Path(__file__).resolve().parents[1].parent / "shared" / "paper" / "paper.txt"

needs_paper = pytest.mark.skipif(not PAPER_TXT.is_file(), reason=f"{PAPER_TXT} not present")

_NUMBER = re.compile(r"\d+(?:\.\d+)?")

FINETUNE_FIELDS = (
    "iterations",
    "lr_top",
    "lr_body",
    "final_cost",
    "train_accuracy",
    "test_accuracy",
)
PRETRAIN_FIELDS = ("lr", "iterations", "final_cost")


def _paper_lines() -> list[str]:
    return PAPER_TXT.read_text(encoding="utf-8").splitlines()


def _marker_index(lines: list[str], table_id: str) -> int:
    hits = [i for i, line in enumerate(lines) if line.strip() == f"TABLE {table_id}"]
    assert len(hits) == 1, f"expected exactly one 'TABLE {table_id}' marker, found {len(hits)}"
    return hits[0]


def _table_block(table_id: str) -> str:
    """Whitespace-normalised paper text from the table's caption to its ``TABLE N`` marker."""
    lines = _paper_lines()
    end = _marker_index(lines, table_id)
    caption = " ".join(paper_table(table_id)["caption"].split())
    text_before = " ".join(" ".join(lines[:end]).split())
    start = text_before.rfind(caption)
    assert start >= 0, f"caption {caption!r} of Table {table_id} not found before its marker"
    return text_before[start:]


def _row_lines(table_id: str, n_rows: int) -> list[str]:
    """The last ``n_rows`` non-empty lines printed right above the ``TABLE N`` marker."""
    lines = _paper_lines()
    end = _marker_index(lines, table_id)
    body = [line for line in lines[:end] if line.strip()]
    return body[-n_rows:]


def _numbers(text: str) -> list[float]:
    return [float(x) for x in _NUMBER.findall(text)]


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


# --- structure ------------------------------------------------------------------------------


def test_all_ten_tables_present() -> None:
    data = load_paper_numbers()
    assert TABLE_IDS == ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
    assert set(data["tables"]) == set(TABLE_IDS)
    for tid in TABLE_IDS:
        table = paper_table(tid)
        assert table["kind"] in {"pretraining", "finetuning", "comparison"}
        assert table["caption"] and table["title"]
        assert table["rows"]


def test_finetuning_tables_have_three_rows_of_2000_iterations() -> None:
    finetune = [tid for tid in TABLE_IDS if paper_table(tid)["kind"] == "finetuning"]
    assert finetune == ["II", "III", "V", "VI", "VIII", "IX"]
    for tid in finetune:
        table = paper_table(tid)
        assert table["labels_per_class"] in (1, 5)
        assert len(table["rows"]) == 3, tid
        assert all(row["iterations"] == 2000 for row in table["rows"]), tid


def test_pretraining_tables_match_architectures() -> None:
    assert [paper_table(t)["architecture"] for t in ("I", "IV", "VII")] == [
        "784-500-200-100",
        "784-300-100",
        "784-100",
    ]
    assert [r["layer"] for r in paper_table("IV")["rows"]] == ["784-300-784", "300-100-300"]


def test_values_are_numbers() -> None:
    for tid in TABLE_IDS:
        table = paper_table(tid)
        fields = {
            "finetuning": FINETUNE_FIELDS,
            "pretraining": PRETRAIN_FIELDS,
            "comparison": ("accuracy",),
        }[table["kind"]]
        for row in table["rows"]:
            for field in fields:
                assert _is_number(row[field]), (tid, field, row[field])
    data = load_paper_numbers()
    assert _is_number(data["ten_labels_test_accuracy"])
    for exp in data["dae_experiments"]:
        assert all(_is_number(v) for v in exp.values()), exp


def test_dae_experiments() -> None:
    exps = load_paper_numbers()["dae_experiments"]
    assert [(e["train_noise"], e["test_noise"]) for e in exps] == [
        (0.1, 0.1),
        (0.3, 0.5),
        (0.5, 0.3),
        (0.5, 0.5),
    ]
    assert load_paper_numbers()["ten_labels_test_accuracy"] == 76.7


def test_unknown_table_raises_helpful_keyerror() -> None:
    with pytest.raises(KeyError, match="unknown paper table id"):
        paper_table("XI")


def test_returned_data_is_a_copy() -> None:
    paper_table("I")["rows"][0]["final_cost"] = -1.0
    load_paper_numbers()["tables"]["I"]["rows"].clear()
    assert paper_table("I")["rows"][0]["final_cost"] == 255.973


# --- traceability to the paper's text -------------------------------------------------------


@needs_paper
@pytest.mark.parametrize(
    ("table_id", "row", "field", "printed"),
    [
        ("I", 0, "final_cost", "255.973"),
        ("III", 1, "test_accuracy", "64.7"),
        ("VI", 2, "test_accuracy", "65.250"),
        ("VII", 0, "final_cost", "313.080"),
        ("IX", 1, "test_accuracy", "70.167"),
        ("X", 4, "accuracy", "93.43"),
    ],
)
def test_cell_printed_in_its_table(table_id: str, row: int, field: str, printed: str) -> None:
    assert paper_table(table_id)["rows"][row][field] == float(printed)
    assert printed in _table_block(table_id)


@needs_paper
@pytest.mark.parametrize("table_id", TABLE_IDS)
def test_every_row_matches_its_printed_line(table_id: str) -> None:
    table = paper_table(table_id)
    lines = _row_lines(table_id, len(table["rows"]))
    for row, line in zip(table["rows"], lines, strict=True):
        printed = _numbers(line)
        if table["kind"] == "finetuning":
            assert printed == [float(row[f]) for f in FINETUNE_FIELDS], line
        elif table["kind"] == "pretraining":
            expected = _numbers(row["layer_as_printed"]) + [float(row[f]) for f in PRETRAIN_FIELDS]
            assert printed == expected, line
        else:
            assert printed[-1] == row["accuracy"], line


@needs_paper
def test_body_text_numbers_present() -> None:
    text = " ".join(PAPER_TXT.read_text(encoding="utf-8").split())
    assert "76.7%" in text
    assert "784, 256, 784 and learning rate = 0.001 for 1000 iterations" in text
