import json
import shutil
import subprocess
import sys

import pytest

from sdae.errors import SdaeError
from sdae.reproduce.plan import plan
from sdae.reproduce.runner import reproduce

TABLES = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]


def test_report_names_every_table_and_figure(smoke):
    out, doc = smoke
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    for tid in TABLES:
        assert f"## Table {tid}:" in md, tid
        assert f"<h2>Table {tid}:" in html, tid
    for fig in range(5, 13):
        assert f"Fig. {fig}:" in md and f"Fig. {fig}:" in html, fig
        assert (out / doc["figures"][str(fig)]).stat().st_size > 0
    assert "data:image/png;base64," in html and "src=\"figures/" not in html  # self-contained
    assert md.index("## Headline results") < md.index("## Summary") < md.index("## Table I:")
    # the first screen's figures (the conv DAE, denoise-then-classify) come before the summary
    assert md.index("Fig. 8b:") < md.index("Fig. 13:") < md.index("## Summary")
    assert html.index("Fig. 8b:") < html.index("<h2>Summary</h2>")


def test_results_json_holds_every_number(smoke):
    out, doc = smoke
    saved = json.loads((out / "results.json").read_text())
    assert set(saved["experiments"]) == {e.name for e in plan(1)}
    cell = saved["tables"]["IX"]["rows"][1]["test_accuracy"]
    assert cell["paper"] == 70.167 and 0 <= cell["ours"] <= 100
    assert cell["diff"] == pytest.approx(cell["ours"] - 70.167)
    run = saved["experiments"]["finetune-arch3-l5-top0.5-body0.001-seed0"]
    assert run["config"]["finetune"]["lr_top"] == 0.5 and run["config"]["labels_per_class"] == 5
    assert 100 * run["metrics"]["test_accuracy"] == pytest.approx(cell["ours"])
    assert saved["gemm_floor_seconds"] > 0 and saved["wall_seconds"] > saved["gemm_floor_seconds"]


def test_rerun_after_finish_changes_nothing(smoke):
    out, doc = smoke
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = reproduce("smoke", 1, out, quiet=True)
    assert again["tables"] == doc["tables"]
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == stamps


def test_interrupted_run_resumes_without_redoing_finished(smoke, tmp_path):
    out, doc = smoke
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    lost = ["finetune-arch2-l5-top1-body0-seed0", "knn-l5-seed0"]
    for name in lost:
        shutil.rmtree(copy / "experiments" / name)
    (copy / "experiments" / "cnn-seed0.partial").mkdir()  # debris of a killed experiment
    (copy / "report.md").unlink()
    kept = copy / "experiments" / "pretrain-arch2-seed0" / "result.json"
    before = kept.stat().st_mtime_ns
    resumed = reproduce("smoke", 1, copy, quiet=True)
    assert kept.stat().st_mtime_ns == before
    assert all((copy / "experiments" / n / "result.json").exists() for n in lost)
    assert resumed["tables"] == doc["tables"]
    assert (copy / "report.md").exists()


def test_conflicting_arguments_refused(smoke):
    out, _ = smoke
    proc = subprocess.run([sys.executable, "-m", "sdae", "reproduce", "--preset", "smoke",
                           "--seeds", "2", "--out", str(out), "--quiet"],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "holds a run with other arguments (seeds: 1 -> 2)" in lines[0]


def test_foreign_folder_refused(tmp_path):
    (tmp_path / "mine.txt").write_text("precious")
    with pytest.raises(SdaeError, match="not empty and holds no sdae reproduction"):
        reproduce("smoke", 1, tmp_path, quiet=True)
    assert (tmp_path / "mine.txt").read_text() == "precious"


def test_plan_covers_the_paper():
    exps = plan(2)
    names = {e.name for e in exps}
    assert len(exps) == 2 * len(plan(1)) == len(names)
    assert sum(e.kind == "finetune" for e in exps) == 2 * (3 * 2 * 3 + 1)
    assert {"dae-train0.1-seed1", "pretrain-arch1-seed0", "knn-l5-seed0", "cnn-seed1",
            "dae-conv-train0.1-seed0", "dae-conv-fresh-train0.5-seed1",
            "denoise-classify-seed1"} <= names
    order = [x.name for x in exps]
    for e in exps:  # every experiment comes after the ones it reads
        for need in e.needs:
            assert need.name in names
            assert order.index(need.name) < order.index(e.name)


def test_parallel_jobs_give_the_same_results(smoke, tmp_path):
    out, doc = smoke
    par = reproduce("smoke", 1, tmp_path / "par", jobs=2, quiet=True)
    assert set(par["experiments"]) == set(doc["experiments"])
    for name, result in doc["experiments"].items():
        written = json.loads((tmp_path / "par" / "experiments" / name / "config.json").read_text())
        assert written == result["config"], name  # what the worker process ran with
        ours, theirs = result["metrics"], par["experiments"][name]["metrics"]
        # one thread per process: the same sums in another order, so costs agree closely
        # (smoke-sized fine-tunings at rates up to 1 are too chaotic to compare accuracies);
        # KNN has no floating-point training at all
        if "final_cost" in ours or "pretrain_final_costs" in ours:
            key = "final_cost" if "final_cost" in ours else "pretrain_final_costs"
            assert theirs[key] == pytest.approx(ours[key], rel=1e-3), name
        if name.startswith("knn"):
            assert theirs == {**ours, "train_seconds": theirs["train_seconds"]}
