"""The method ladder (``sdae reproduce --preset beyond``): every method on the same label
draws, paired differences that are the per-draw differences, a report in the paper preset's
format."""

import json

import pytest

from sdae.reproduce.experiments import experiment_config
from sdae.reproduce.ladder import LADDER_LABELS, METHODS, build_ladder, goals_of, ladder_plan
from sdae.reproduce.plan import select
from sdae.reproduce.presets import PRESETS
from sdae.reproduce.runner import reproduce


def test_the_plan_gives_every_method_every_budget_and_draw_once():
    todo = ladder_plan(2, 3)
    names = [e.name for e in todo]
    assert len(names) == len(set(names))
    per_seed = 1 + len(LADDER_LABELS) * 3 * len(METHODS)
    assert len(todo) == 2 * per_seed
    assert [e.kind for e in todo].count("pretrain") == 2
    for e in todo:  # each after what it needs
        for need in e.needs:
            assert names.index(need.name) < names.index(e.name)


def test_every_method_draws_the_same_labelled_images():
    preset = PRESETS["beyond"]
    by_draw = {}
    for e in ladder_plan(1, 2):
        if e.kind == "pretrain":
            continue
        c = experiment_config(e, preset)
        by_draw.setdefault((e.labels, e.draw), set()).add(
            (c.labels_per_class, c.labels_seed, c.protocol, c.data_seed))
    assert len(by_draw) == len(LADDER_LABELS) * 2
    for (labels, draw), seen in by_draw.items():
        assert seen == {(labels, draw, "paper", 0)}


def test_beyond_full_runs_the_ladder_on_the_full_protocol():
    """`--preset beyond-full`: every experiment of the ladder on all 60000 training images
    (the pool) and the 10000 test images, five label draws, the full goals in its report."""
    preset = PRESETS["beyond-full"]
    assert preset.ladder_draws == 5 and preset.protocol == "full"
    configs = [experiment_config(e, preset) for e in ladder_plan(1, preset.ladder_draws)]
    assert {c.protocol for c in configs} == {"full"}
    assert {c.labels_seed for c in configs if hasattr(c, "graph_per_class")} == set(range(5))
    assert goals_of({"protocol": "full"}) == {1: 70.0, 5: 80.0, 10: 85.0}


@pytest.fixture(scope="module")
def ladder(tmp_path_factory, fmnist):
    out = tmp_path_factory.mktemp("ladder") / "run"
    return out, reproduce("ladder-smoke", 1, out, quiet=True)


def test_the_ladder_report_holds_each_method_and_paired_differences(ladder):
    out, doc = ladder
    rows = {r["fields"]["method"]: r for r in doc["tables"]["ladder"]["rows"]}
    assert list(rows) == list(METHODS)
    assert [r["label"] for r in rows.values()] == [title for _, title in METHODS.values()]
    assert rows["paper"]["5 per class"]["paper"] == 70.2
    exps = doc["experiments"]
    for prow in doc["tables"]["paired"]["rows"]:
        method = prow["fields"]["method"]
        for k in LADDER_LABELS:
            want = []
            for d in (0, 1):
                ours = [v for v in exps.values() if v["kind"] == METHODS[method][0]
                        and v["params"].get("labels") == k and v["params"].get("draw") == d]
                base = [v for v in exps.values() if v["kind"] == "finetune"
                        and v["params"].get("labels") == k and v["params"].get("draw") == d]
                want.append(100 * (ours[0]["metrics"]["test_accuracy"]
                                   - base[0]["metrics"]["test_accuracy"]))
            cell = prow[f"{k} per class"]
            assert cell["n"] == 2
            assert cell["values"] == pytest.approx(want)
    text = (out / "report.md").read_text()
    assert "Method ladder" in text and "Paired differences" in text
    # the first screen: sdae semi against the paper's recipe, its confusion matrix and cost
    assert text.index("## Headline results") < text.index("## Summary") < text.index("Method")
    assert "| method | 1 per class | 5 per class | 10 per class |" in text
    assert text.index("Fig. 16:") < text.index("Fig. 15:") < text.index("Fig. 14:") \
        < text.index("## Summary")  # fmt: skip
    # the plot: accuracy against labels per class, every method, the published anchor marked
    plot = out / "figures" / "fig016_ladder.png"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "the best published result" in text
    assert "| best published: Poisson-MBO (Calder et al., 2020), VAE codes, 70000 images | " \
        "62 | 73.1 | 76.1 |" in text  # fmt: skip
    assert "| goal (issues 11, 21) | 65 | 78 | 82 |" in text  # the paper protocol's
    assert (out / "report.html").exists()
    assert json.loads((out / "results.json").read_text())["preset"]["ladder_draws"] == 2


def test_a_finished_ladder_is_read_back_unchanged(ladder):
    out, doc = ladder
    again = reproduce("ladder-smoke", 1, out, quiet=True)
    assert again["tables"] == doc["tables"]


def test_build_ladder_with_no_results_gives_empty_cells():
    tables = build_ladder([])
    assert all(c["n"] == 0 for r in tables["ladder"].rows for c in r.cells.values())
    assert [r.method for r in tables["paired"].rows] == [m for m in METHODS if m != "paper"]
    assert select([], kind="semi") == []


def test_the_ladder_runs_on_another_source_without_the_papers_numbers(tmp_path):
    """`--preset ladder-smoke --data digits`: every experiment on digits' full protocol, the
    networks 64-100, a report without Fashion-MNIST's numbers; the paper presets refuse."""
    from sdae.errors import SdaeError

    doc = reproduce("ladder-smoke", 1, tmp_path / "digits", quiet=True, data="digits")
    assert doc["preset"]["data"] == "digits" and doc["preset"]["protocol"] == "full"
    assert doc["args"]["data"] == "digits"
    configs = [e["config"] for e in doc["experiments"].values()]
    assert all(c["data"] == "digits" and c["protocol"] == "full" for c in configs)
    assert {tuple(c["sizes"]) for c in configs if "sizes" in c} == {(64, 100)}
    semi = [c for c in configs if "flip" in c]
    assert semi and not any(c["flip"] for c in semi)  # no mirrored digits
    report = (tmp_path / "digits" / "report.md").read_text()
    assert "the paper (Tables VIII" not in report and "goal (issues" not in report
    assert "Poisson-MBO" not in report and (tmp_path / "digits/figures/fig016_ladder.png").exists()
    assert any("On digits" in line for line in doc["summary"])
    with pytest.raises(SdaeError, match="reproduces the paper on Fashion-MNIST"):
        reproduce("smoke", 1, tmp_path / "refused", quiet=True, data="digits")
    assert not (tmp_path / "refused").exists()
