"""One command re-runs every experiment of the paper, resumably, and writes the report.

The work is the list of experiments of :mod:`sdae.reproduce.plan`, each run for every seed. Each
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
import dataclasses
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from sdae import __version__
from sdae.data.fashion_mnist import load_fashion_mnist
from sdae.data.protocols import PROTOCOLS
from sdae.data.sources import BUILTIN, source_facts
from sdae.devices import check_device
from sdae.errors import SdaeError
from sdae.io.outputs import check_writable_parent, out_lock, read_json, write_json
from sdae.reproduce.experiments import RESULT, experiment_config, read_result, run_experiment
from sdae.reproduce.floor import conv_floor, preset_floor
from sdae.reproduce.ladder import ladder_plan
from sdae.reproduce.plan import Experiment, plan
from sdae.reproduce.presets import PRESETS, Preset
from sdae.reproduce.render import write_report

STATE = "reproduce.json"


# what a reproduction folder holds besides its state (kept if the state file was deleted)
_OUTPUTS = {"experiments", "figures", "report.md", "report.html", "results.json"}


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


#: why a folder of an older sdae is not resumed: what changed since that version
CHANGED = {"0.1.0": "its training noise comes from another random stream, and sdae semi's "
                    "recipe has changed",
           "0.2.0": "sdae semi's recipe has changed: two rounds, distribution alignment",
           "0.3.0": "sdae semi's label counts follow the pool: 500 / 3000 per class on the "
                    "full protocol"}


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
    made_by = state["args"].get("sdae_version")
    if made_by != args["sdae_version"]:
        why = CHANGED.get(made_by, "its recipes differ")
        raise SdaeError(f"{out} was made by sdae {made_by}, whose results this version "
                        f"({args['sdae_version']}) would not reproduce ({why}); choose another "
                        "--out to run it afresh")  # fmt: skip
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


def with_data(preset: Preset, data: str) -> Preset:
    """``preset`` on the source ``data``: the method ladder runs on any source, on its
    ``full`` protocol (its own split); the paper's experiments only on Fashion-MNIST."""
    if data == "fashion-mnist":
        return preset
    if not preset.ladder_draws:
        raise SdaeError(f"--preset {preset.name} reproduces the paper on Fashion-MNIST; with "
                        "--data use --preset beyond or beyond-quick (the method ladder)")
    source = data if data in BUILTIN else str(Path(data).expanduser().absolute())
    return dataclasses.replace(preset, data=source, protocol="full")


def reproduce(preset_name: str, seeds: int, out: str | Path, *, jobs: int = 1,
              data_dir=None, quiet: bool = False, device: str = "cpu",
              data: str = "fashion-mnist") -> dict[str, Any]:  # fmt: skip
    """Run (or resume) every experiment of ``preset_name`` (on ``data``: :func:`with_data`)
    and write the report; returns ``results.json``'s dict."""

    check_arguments(preset_name, seeds, jobs, device)
    preset, out = with_data(PRESETS[preset_name], data), Path(out)
    args = {"preset": preset_name, "seeds": seeds, "device": device, "sdae_version": __version__}
    if not preset.fashion:  # older folders have no key: they resume as they were
        args["data"] = preset.data
    check_out(out, args)
    if preset.fashion:  # fail before any work if the data is missing, corrupt or unusable
        load_fashion_mnist(data_dir)
    else:
        source_facts(preset.data)
    with out_lock(out):  # one sdae process at a time writes a reproduction
        return _resume(out, check_out(out, args), preset, args, jobs, data_dir, quiet, device)


def _resume(out: Path, state: dict, preset: Preset, args: dict, jobs: int, data_dir,
            quiet: bool, device: str) -> dict[str, Any]:
    """Run what is not finished in ``out`` (``state``: its reproduce.json), then the report."""
    seeds = args["seeds"]
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
    """Seconds of the products alone in the preset's trainings, measured now on this machine
    (:mod:`sdae.reproduce.floor`): the MLP autoencoders' GEMMs, and the conv DAEs', CNN's and
    ``sdae semi``'s forward and backward passes. What the run's wall time is set against."""

    def pool(protocol: str) -> int:
        per_class, facts = PROTOCOLS[protocol][0], source_facts(preset.data)
        return sum(facts.train_per_class) if per_class is None else per_class * facts.n_classes

    configs = [experiment_config(e, preset, device) for e in todo
               if e.kind in ("dae", "pretrain", "cnn", "semi")]  # fmt: skip
    mlp = preset_floor(configs, pool(preset.protocol), device=device)  # conv nets add 0 here
    return mlp + conv_floor([(c, pool(c.protocol)) for c in configs], device=device)


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
