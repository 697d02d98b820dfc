"""One command re-runs every experiment of the paper, resumably, and writes the report.

The work is the list of experiments of :mod:`sdae.plan`, each run for every seed. Each
experiment is written into ``DIR/experiments/<name>.partial/`` and renamed to
``DIR/experiments/<name>/`` when finished (a folder rename is atomic), so a run killed at
any moment, even by SIGKILL, resumes by skipping finished folders, and gives the same
``results.json`` as an uninterrupted run in every value but the timings.
``DIR/reproduce.json`` records the arguments that shape the results (preset, seeds,
device, sdae's version): running again with other ones is refused. It also keeps the wall
time, added up over every attempt, updated after each experiment.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdae import __version__
from sdae.devices import check_device
from sdae.errors import SdaeError
from sdae.ladder import ladder_plan
from sdae.outputs import check_writable_parent, fsync_dir, read_json, write_json
from sdae.plan import ARCHS, Experiment, ExperimentResult, plan

RESULT = "result.json"
STATE = "reproduce.json"
# what a reproduction folder holds besides its state (kept if the state file was deleted)
_OUTPUTS = {"experiments", "figures", "report.md", "report.html", "results.json"}


@dataclass(frozen=True)
class Preset:
    """How much of the paper to run. ``paper``: the paper's own sizes, learning rates,
    iterations and subsets; ``quick``: the same experiments, smaller and shorter."""

    name: str
    protocol: str
    dae_iterations: int
    pretrain_scale: float
    finetune_iterations: int
    cnn_protocol: str
    cnn_epochs: int
    conv_iterations: int = 1875
    conv_width: int = 32
    ladder_draws: int = 0  # > 0: the method ladder (sdae.ladder) over this many label draws
    semi_iterations: int = 1800


PRESETS = {
    # the conv DAE: 10 passes over the 6000 images (the default of `sdae dae` is 20)
    # the CNN: the baseline's own recipe (8 epochs of the deep CNN, 93.5 % on the full protocol)
    "paper": Preset("paper", "paper", 1000, 1.0, 2000, "full", 8, 1875, 32),
    # width 16 denoises as well as 32 after 100 steps on the mini protocol, in half the time
    "quick": Preset("quick", "mini", 150, 0.1, 300, "paper", 1, 100, 16),
    "smoke": Preset("smoke", "mini", 8, 0.01, 20, "mini", 1, 2, 8),  # for tests: seconds
    # the method ladder at the paper's sizes, five label draws
    "beyond": Preset("beyond", "paper", 1000, 1.0, 2000, "full", 8, ladder_draws=5),
    # the same ladder in under 3 minutes
    "beyond-quick": Preset("beyond-quick", "mini", 150, 0.1, 300, "paper", 1, ladder_draws=2,
                           semi_iterations=100),
    "ladder-smoke": Preset("ladder-smoke", "mini", 8, 0.01, 20, "mini", 1, ladder_draws=2,
                           semi_iterations=3),  # for tests
}


def experiment_config(exp: Experiment, preset: Preset, device: str = "cpu"):
    """The run config of one experiment: what is saved beside its results."""
    from sdae.config import from_flags

    s = exp.seed
    run = {"seed": s, "device": device, "protocol": preset.protocol}
    if exp.kind == "dae":
        conv = exp.model == "conv"
        return from_flags("dae", {**run, "train_noise": exp.train_noise, "noise": exp.noise,
                                  "test_noise": exp.tests[0], "model": exp.model,
                                  **({"width": preset.conv_width} if conv else {}),
                                  "iterations": preset.conv_iterations if conv
                                  else preset.dae_iterations})  # fmt: skip
    if exp.kind == "robust":
        from sdae.config import RobustConfig
        from sdae.plan import ROBUST_DAE_NOISE

        return RobustConfig(dae_noise=ROBUST_DAE_NOISE, **run)
    if exp.kind in ("pretrain", "finetune"):
        base = from_flags("sae", {**run, "arch": ARCHS[exp.arch], "finetune_recipe": "paper",
                                  "labels_seed": s})  # fmt: skip
        its = tuple(max(1, round(t.iterations * preset.pretrain_scale)) for t in base.pretrain)
        flags = {**run, "arch": ARCHS[exp.arch], "finetune_recipe": "paper", "labels_seed": s,
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
        return from_flags("baseline", {**run, "model": "mlp", **labels, "arch": ARCHS[3],
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
    from sdae.experiments import load_splits

    return load_splits(config.protocol, config.data_seed, config.device, data_dir)


def _run_dae(exp: Experiment, config, out: Path, data_dir, progress) -> dict:
    from sdae import experiments as ex
    from sdae import figures
    from sdae.checkpoints import save_model

    train, test = _splits(config, data_dir)
    model, history, seconds = ex.train_dae(config, train, progress=progress)
    figures.cost_curve(out / "cost.png", {"cost": history},
                       f"DAE training cost, train noise {config.train_noise} ({config.noise})")
    per_test = {}
    for q in exp.tests:
        scores, noisy, denoised = ex.evaluate_dae(model, config, train, test, q)
        per_test[str(q)] = scores
        ex.reconstruction_figure(out / f"reconstructions_test{q}.png", test, noisy, denoised,
                                 f"train noise {config.train_noise}, test noise {q} "
                                 f"({config.noise})")  # fmt: skip
    save_model(out / "model.safetensors", model, config)  # for denoise-then-classify, users
    return {"final_cost": history[-1], "train_seconds": seconds, "tests": per_test,
            "cost_history": history}  # fmt: skip


def _run_pretrain(exp: Experiment, config, out: Path, data_dir, progress) -> dict:
    from sdae import experiments as ex
    from sdae.checkpoints import save_model

    train, _ = _splits(config, data_dir)
    start = time.perf_counter()
    model, histories = ex.pretrain_model(config, train, progress=progress)
    seconds = time.perf_counter() - start
    ex.pretraining_figure(out / "layer_costs.png", config, histories)
    save_model(out / "model.safetensors", model, config)
    return {"pretrain_final_costs": [h[-1] for h in histories], "train_seconds": seconds,
            "pretrain_cost_histories": histories}  # fmt: skip


def _run_finetune(exp: Experiment, config, out: Path, data_dir, progress, root: Path) -> dict:
    from sdae import experiments as ex
    from sdae.checkpoints import load_model, save_model

    train, test = _splits(config, data_dir)
    model, _ = load_model(root / exp.needs[0].name / "model.safetensors", config.device)
    start = time.perf_counter()
    history, n_labelled = ex.finetune_model(model, config, train, progress=progress)
    if exp.table == "10":  # the classifier denoise-then-classify uses
        save_model(out / "model.safetensors", model, config)
    return ex.classification_result(
        model, train, test, out, f"{config.arch}, {config.labels_per_class} labels/class, "
        f"lr {config.finetune.lr_top}/{config.finetune.lr_body}", pretrain=[], finetune=history,
        seconds=time.perf_counter() - start, n_labelled=n_labelled,
    )  # fmt: skip


def _run_baseline(exp: Experiment, config, out: Path, data_dir, progress) -> dict:
    from sdae.experiments import write_baseline

    train, test = _splits(config, data_dir)
    return write_baseline(config, out, train, test, progress=progress)


def _run_robust(exp: Experiment, config, out: Path, data_dir, progress, root: Path) -> dict:
    from sdae import robustness
    from sdae.checkpoints import load_model
    from sdae.plan import robust_inputs

    _, test = _splits(config, data_dir)
    models = {k: load_model(root / e.name / "model.safetensors", config.device)[0]
              for k, e in robust_inputs(exp.seed).items()}  # fmt: skip
    inputs = robustness.denoisers(models["mlp"], models["conv"])
    result = robustness.evaluate(config, {"cnn": models["cnn"], "sae": models["sae"]}, inputs,
                                 test.x, test.y)  # fmt: skip
    robustness.figure(out / "accuracy.png", result)
    return {**result, "n_test": len(test)}


def _run_semi(exp: Experiment, config, out: Path, data_dir, progress) -> dict:
    from sdae.semi import write_semi

    train, test = _splits(config, data_dir)
    return write_semi(config, out, train, test, progress=progress)


_RUNNERS = {"dae": _run_dae, "pretrain": _run_pretrain, "knn": _run_baseline,
            "cnn": _run_baseline, "mlp": _run_baseline, "logreg": _run_baseline,
            "semi": _run_semi}  # fmt: skip


def run_experiment(exp: Experiment, preset: Preset, root: Path, data_dir=None,
                   progress: bool = False, threads: int | None = None,
                   device: str = "cpu") -> ExperimentResult:
    """Run one experiment into ``root/<name>`` (atomically); return its result."""
    import torch

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
    from sdae.config import load_config

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


def _state_fix(out: Path) -> str:
    return (f"delete {out / STATE} and run the same command again (finished experiments in "
            f"{out / 'experiments'} are kept)")  # fmt: skip


def read_state(out: Path) -> dict[str, Any] | None:
    """``reproduce.json``, checked; None when there is none."""
    path = out / STATE
    if not path.exists():
        return None
    state = read_json(path, _state_fix(out))
    ok = (isinstance(state, dict) and isinstance(state.get("args"), dict)
          and isinstance(state.get("wall_seconds"), (int, float)))  # fmt: skip
    if not ok:
        raise SdaeError(f"{path} is not a reproduction's state; {_state_fix(out)}")
    return state


def check_out(out: Path, args: dict) -> dict[str, Any]:
    """Refuse a folder that is a file, holds other files, or a run with other arguments;
    return its state (a new one for a new folder). Nothing is written."""
    if out.exists() and not out.is_dir():
        raise SdaeError(f"--out {out} is a file; give a folder")
    check_writable_parent(out, "--out")
    state = read_state(out)
    if state is None:
        if out.exists() and any(p.name not in _OUTPUTS for p in out.iterdir()):
            raise SdaeError(f"{out} is not empty and holds no sdae reproduction; choose "
                            "another --out")  # fmt: skip
        return {"args": args, "wall_seconds": 0.0, "attempts": 0}
    before = {**args, **state["args"]}  # a key this version added is not a difference
    if before != args:
        diff = ", ".join(f"{k}: {before.get(k)!r} -> {args.get(k)!r}"
                         for k in sorted(set(before) | set(args))
                         if before.get(k) != args.get(k))  # fmt: skip
        raise SdaeError(f"{out} holds a run with other arguments ({diff}); "
                        "rerun with the same arguments to resume, or choose another --out")
    return {**state, "args": args}


def _workers(jobs: int) -> tuple[int, int]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    jobs = min(jobs, cores or 1)
    return jobs, max(1, (cores or 1) // jobs)


def check_arguments(preset_name: str, seeds: int, jobs: int, device: str) -> None:
    if preset_name not in PRESETS:
        raise SdaeError(f"unknown preset {preset_name!r}; choose one of {', '.join(PRESETS)}")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= 1000:
        raise SdaeError(f"--seeds must be a whole number from 1 to 1000, not {seeds!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise SdaeError(f"--jobs must be a whole number >= 1, not {jobs!r}")
    check_device(device)


def reproduce(preset_name: str, seeds: int, out: str | Path, *, jobs: int = 1,
              data_dir=None, quiet: bool = False, device: str = "cpu") -> dict[str, Any]:
    """Run (or resume) every experiment and write the report; returns ``results.json``'s dict."""
    from sdae.data import load_fashion_mnist
    from sdae.report import write_report

    check_arguments(preset_name, seeds, jobs, device)
    preset, out = PRESETS[preset_name], Path(out)
    args = {"preset": preset_name, "seeds": seeds, "device": device, "sdae_version": __version__}
    state = check_out(out, args)
    load_fashion_mnist(data_dir)  # fail before any work if the data is missing or corrupt
    root = out / "experiments"
    todo = ladder_plan(seeds, preset.ladder_draws) if preset.ladder_draws else plan(seeds)
    # finished results are read and checked now, not after hours of work, and only once
    finished = {e.name: read_result(root, e, preset) for e in todo
                if (root / e.name / RESULT).exists()}  # fmt: skip
    done = set(finished)
    pending = [e for e in todo if e.name not in done]
    if pending or not (out / STATE).exists():  # a finished reproduction is left untouched
        root.mkdir(parents=True, exist_ok=True)
        state["attempts"] = state.get("attempts", 0) + 1
        state["gemm_floor_seconds"] = gemm_floor(todo, preset, device)
        write_json(out / STATE, state)
        _run_all(pending, done, preset, root, data_dir, jobs, quiet, device, _Clock(out, state))
    results = [finished.get(e.name) or read_result(root, e, preset) for e in todo]
    return write_report(out, preset=preset, args=args, results=results,
                        wall_seconds=state["wall_seconds"],
                        gemm_floor_seconds=state.get("gemm_floor_seconds"))


def gemm_floor(todo: list[Experiment], preset: Preset, device: str) -> float:
    """Seconds of the GEMMs alone in the preset's autoencoder trainings, measured now on this
    machine (:mod:`sdae.floor`): what the run's wall time is set against."""
    from sdae.data import PROTOCOLS
    from sdae.floor import preset_floor

    configs = [experiment_config(e, preset, device) for e in todo
               if e.kind in ("dae", "pretrain")]  # fmt: skip
    per_class = PROTOCOLS[preset.protocol][0]
    return preset_floor(configs, 6000 * 10 if per_class is None else per_class * 10,
                        device=device)  # fmt: skip


class _Clock:
    """Adds the time since the last tick to the state's wall time and saves it: the time of
    an interrupted attempt is kept up to its last finished experiment."""

    def __init__(self, out: Path, state: dict) -> None:
        self.out, self.state, self.last = out, state, time.perf_counter()

    def tick(self) -> None:
        now = time.perf_counter()
        self.state["wall_seconds"] += now - self.last
        self.last = now
        write_json(self.out / STATE, self.state)


def _run_all(pending, done, preset, root, data_dir, jobs, quiet, device, clock) -> None:
    """Run ``pending`` experiments, each after the one it needs."""
    from tqdm.auto import tqdm

    jobs, threads = _workers(jobs)
    total = len(pending) + len(done)
    bar = tqdm(total=total, initial=len(done), desc="experiments", disable=quiet,
               position=0, unit="exp")  # fmt: skip
    try:
        if jobs == 1:
            for exp in pending:
                bar.set_postfix_str(exp.name)
                run_experiment(exp, preset, root, data_dir, progress=not quiet, device=device)
                clock.tick()
                bar.update()
            return
        _run_parallel(pending, done, preset, root, data_dir, jobs, threads, device, clock, bar)
    finally:
        bar.close()


def _run_parallel(pending, done, preset, root, data_dir, jobs, threads, device, clock, bar):
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
        waiting, running = list(pending), {}
        while waiting or running:
            for exp in [e for e in waiting if all(n.name in done for n in e.needs)]:
                if len(running) >= jobs:
                    break
                waiting.remove(exp)
                running[pool.submit(run_experiment, exp, preset, root, data_dir, False,
                                    threads, device)] = exp  # fmt: skip
            finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                exp = running.pop(fut)
                fut.result()  # re-raise a worker's error here
                done.add(exp.name)
                clock.tick()
                bar.set_postfix_str(exp.name)
                bar.update()
