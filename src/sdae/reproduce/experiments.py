"""Running one experiment of a reproduction: its config (:func:`experiment_config`), the
work of its kind, and its folder written atomically (``DIR/experiments/<name>/``, renamed into
place from ``<name>.partial`` when finished); reading a finished one back, checked.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import torch

from sdae.config.denoising import RobustConfig
from sdae.config.flags import from_flags, load_config
from sdae.data.sources import source_facts
from sdae.data.splits import load_splits
from sdae.errors import SdaeError
from sdae.io import figures
from sdae.io.checkpoints import load_model, save_model
from sdae.io.outputs import fsync_dir, read_json, write_json
from sdae.reproduce import robustness
from sdae.reproduce.plan import ARCHS, ROBUST_DAE_NOISE, Experiment, ExperimentResult, robust_inputs
from sdae.reproduce.presets import Preset
from sdae.runs.baseline import write_baseline
from sdae.runs.common import classification_result
from sdae.runs.dae import evaluate_dae, reconstruction_figure, train_dae
from sdae.runs.sae import finetune_model, pretrain_model, pretraining_figure
from sdae.runs.semi import write_semi

RESULT = "result.json"


def experiment_config(exp: Experiment, preset: Preset, device: str = "cpu"):
    """The run config of one experiment: what is saved beside its results."""

    s = exp.seed
    run = {"seed": s, "device": device, "protocol": preset.protocol}
    arch = ARCHS.get(exp.arch or 3)
    if not preset.fashion:  # the ladder on another source (its kinds all take --data)
        run["data"] = preset.data
        arch = f"{source_facts(preset.data).n_features}-{arch.split('-', 1)[1]}"  # its pixels in
    if exp.kind == "dae":
        conv = exp.model == "conv"
        return from_flags("dae", {**run, "train_noise": exp.train_noise, "noise": exp.noise,
                                  "test_noise": exp.tests[0], "model": exp.model,
                                  **({"width": preset.conv_width} if conv else {}),
                                  "iterations": preset.conv_iterations if conv
                                  else preset.dae_iterations})  # fmt: skip
    if exp.kind == "robust":
        return RobustConfig(dae_noise=ROBUST_DAE_NOISE, **run)
    if exp.kind in ("pretrain", "finetune"):
        base = from_flags("sae", {**run, "arch": arch, "finetune_recipe": "paper",
                                  "labels_seed": s})  # fmt: skip
        its = tuple(max(1, round(t.iterations * preset.pretrain_scale)) for t in base.pretrain)
        flags = {**run, "arch": arch, "finetune_recipe": "paper", "labels_seed": s,
                 "pretrain_iterations": its}  # fmt: skip
        if exp.kind == "finetune":
            flags.update(labels_per_class=exp.labels, lr_top=exp.lr_top, lr_body=exp.lr_body,
                         finetune_iterations=preset.finetune_iterations,
                         labels_seed=exp.labels_seed)  # fmt: skip
        return from_flags("sae", flags)
    labels = {"labels_per_class": exp.labels, "labels_seed": exp.labels_seed}
    if exp.kind == "knn":
        return from_flags("baseline", {**run, "model": "knn", **labels, "k": 1})
    if exp.kind == "logreg":
        return from_flags("baseline", {**run, "model": "logreg", **labels})
    if exp.kind == "mlp":
        return from_flags("baseline", {**run, "model": "mlp", **labels, "arch": arch,
                                       "finetune_recipe": "paper",
                                       "finetune_iterations": preset.finetune_iterations})
    if exp.kind == "semi":
        return from_flags("semi", {**run, **labels, "iterations": preset.semi_iterations,
                                   "graph_pretrain_iterations":
                                       max(1, round(1000 * preset.pretrain_scale))})  # fmt: skip
    return from_flags("baseline", {**run, "model": "cnn", "labels_per_class": "all",
                                   "epochs": preset.cnn_epochs, "protocol": preset.cnn_protocol,
                                   "labels_seed": s})  # fmt: skip


def _splits(config, data_dir):

    return load_splits(config.protocol, config.data_seed, config.device, data_dir,
                       source=getattr(config, "data", "fashion-mnist"),
                       image_size=getattr(config, "image_size", None))  # fmt: skip


def _run_dae(exp: Experiment, config, out: Path, data_dir, progress) -> dict:

    train, test = _splits(config, data_dir)
    model, history, seconds = train_dae(config, train, progress=progress)
    figures.cost_curve(out / "cost.png", {"cost": history},
                       f"DAE training cost, train noise {config.train_noise} ({config.noise})")
    per_test = {}
    for q in exp.tests:
        scores, noisy, denoised = evaluate_dae(model, config, train, test, q)
        per_test[str(q)] = scores
        reconstruction_figure(out / f"reconstructions_test{q}.png", test, noisy, denoised,
                                 f"train noise {config.train_noise}, test noise {q} "
                                 f"({config.noise})")  # fmt: skip
    save_model(out / "model.safetensors", model, config)  # for denoise-then-classify, users
    return {"final_cost": history[-1], "train_seconds": seconds, "precision": history.precision,
            "tests": per_test, "cost_history": history}  # fmt: skip


def _run_pretrain(exp: Experiment, config, out: Path, data_dir, progress) -> dict:

    train, _ = _splits(config, data_dir)
    start = time.perf_counter()
    model, histories = pretrain_model(config, train, progress=progress)
    seconds = time.perf_counter() - start
    pretraining_figure(out / "layer_costs.png", config, histories)
    save_model(out / "model.safetensors", model, config)
    return {"pretrain_final_costs": [h[-1] for h in histories], "train_seconds": seconds,
            "pretrain_precision": [h.precision for h in histories],
            "pretrain_cost_histories": histories}  # fmt: skip


def _run_finetune(exp: Experiment, config, out: Path, data_dir, progress, root: Path) -> dict:

    train, test = _splits(config, data_dir)
    model, _ = load_model(root / exp.needs[0].name / "model.safetensors", config.device)
    start = time.perf_counter()
    history, n_labelled = finetune_model(model, config, train, progress=progress)
    if exp.table == "10":  # the classifier denoise-then-classify uses
        save_model(out / "model.safetensors", model, config)
    return classification_result(
        model, train, test, out, f"{config.arch}, {config.labels_per_class} labels/class, "
        f"lr {config.finetune.lr_top}/{config.finetune.lr_body}", pretrain=[], finetune=history,
        seconds=time.perf_counter() - start, n_labelled=n_labelled,
    )  # fmt: skip


def _run_baseline(exp: Experiment, config, out: Path, data_dir, progress) -> dict:

    train, test = _splits(config, data_dir)
    return write_baseline(config, out, train, test, progress=progress)


def _run_robust(exp: Experiment, config, out: Path, data_dir, progress, root: Path) -> dict:

    _, test = _splits(config, data_dir)
    models = {k: load_model(root / e.name / "model.safetensors", config.device)[0]
              for k, e in robust_inputs(exp.seed).items()}  # fmt: skip
    inputs = robustness.denoisers(models["mlp"], models["conv"])
    result = robustness.evaluate(config, {"cnn": models["cnn"], "sae": models["sae"]}, inputs,
                                 test.x, test.y)  # fmt: skip
    robustness.figure(out / "accuracy.png", result)
    return {**result, "n_test": len(test)}


def _run_semi(exp: Experiment, config, out: Path, data_dir, progress) -> dict:

    train, test = _splits(config, data_dir)
    return write_semi(config, out, train, test, progress=progress)


_RUNNERS = {"dae": _run_dae, "pretrain": _run_pretrain, "knn": _run_baseline,
            "cnn": _run_baseline, "mlp": _run_baseline, "logreg": _run_baseline,
            "semi": _run_semi}  # fmt: skip


def run_experiment(exp: Experiment, preset: Preset, root: Path, data_dir=None,
                   progress: bool = False, threads: int | None = None,
                   device: str = "cpu") -> ExperimentResult:
    """Run one experiment into ``root/<name>`` (atomically); return its result."""

    if threads:
        torch.set_num_threads(threads)
    final, partial = root / exp.name, root / f"{exp.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    config = experiment_config(exp, preset, device)
    write_json(partial / "config.json", config)
    if exp.kind in ("finetune", "robust"):
        run = _run_finetune if exp.kind == "finetune" else _run_robust
        metrics = run(exp, config, partial, data_dir, progress, root)
    else:
        metrics = _RUNNERS[exp.kind](exp, config, partial, data_dir, progress)
    result = ExperimentResult(exp, config, metrics)
    write_json(partial / RESULT, result.as_json())
    os.replace(partial, final)
    fsync_dir(root)
    return result


def read_result(root: Path, exp: Experiment, preset: Preset) -> ExperimentResult:
    """The finished experiment ``exp`` from its folder, checked: a truncated or hand-edited
    ``result.json`` is one line saying how to run that experiment again."""

    path = root / exp.name / RESULT
    fix = f"delete the folder {path.parent} and run the same command again to redo it"
    doc = read_json(path, fix)
    try:
        command = {"dae": "dae", "pretrain": "sae", "finetune": "sae", "robust": "robust",
                   "semi": "semi"}.get(exp.kind, "baseline")  # fmt: skip
        if doc["name"] != exp.name or not isinstance(doc["metrics"], dict):
            raise SdaeError("it does not describe this experiment")
        config = load_config(command, doc["config"])
        if config != experiment_config(exp, preset, config.device):
            raise SdaeError("its config is not this experiment's")
    except (KeyError, TypeError, SdaeError) as exc:
        raise SdaeError(f"{path} is not a result of this reproduction ({exc}); {fix}") from None
    return ExperimentResult(exp, config, doc["metrics"])
