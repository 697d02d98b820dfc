"""``sdae semi``: the labelled draw of an ``sdae sae`` run with the same seeds, and the
protocol's whole unlabelled pool (never the test images), through :mod:`sdae.nn.semi`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from sdae.config.checks import facts_of, labels_text
from sdae.config.classification import SemiConfig
from sdae.data.splits import labelled_indices
from sdae.io import figures
from sdae.io.checkpoints import save_model
from sdae.io.outputs import RESULT_FILE, write_json
from sdae.nn.augment import image_shape
from sdae.nn.semi import self_training
from sdae.runs.common import classification_result, run_staged


def run_semi(config: SemiConfig, out: str | Path, *, data_dir=None, progress: bool = False,
             overwrite: bool = False, download: bool = True) -> dict[str, Any]:
    """``sdae semi``: the labelled draw of ``config`` (as ``sdae sae`` draws it) and the
    protocol's whole training pool. Writes what ``sdae sae`` writes: ``config.json``,
    ``finetune_cost.png``, ``confusion.png``, ``model.safetensors`` and ``metrics.json``
    (same keys; ``train_accuracy`` on the whole pool)."""

    return run_staged(config, out, _write_run, data_dir=data_dir, progress=progress,
                      overwrite=overwrite, download=download)


def _write_run(config: SemiConfig, folder: Path, train, test, *, progress: bool = False):
    """A whole run folder: the config, :func:`write_semi`'s work, the metrics last."""
    write_json(folder / "config.json", config)
    metrics = write_semi(config, folder, train, test, progress=progress)
    write_json(folder / RESULT_FILE, metrics)
    return metrics


def write_semi(config: SemiConfig, folder: Path, train, test, *, progress: bool = False
               ) -> dict[str, Any]:
    """Train on ``config``'s labelled draw of ``train`` and all of ``train`` as the pool;
    write the figures and ``model.safetensors`` into ``folder``; return the metrics."""

    idx = labelled_indices(train, config.labels_per_class, config.labels_seed)
    start = time.perf_counter()
    pool = train.pool  # the images, then the source's unlabelled ones (label -1 below)
    y_pool = np.full(len(pool), -1)
    y_pool[: len(train)] = train.y.cpu().numpy()
    facts = facts_of(config)
    model, history, rounds = self_training(
        pool, idx, y_pool[idx], config.training, progress=progress,
        shape=image_shape(facts.image_shape), n_classes=facts.n_classes)  # fmt: skip
    seconds = time.perf_counter() - start
    labels = labels_text(config.labels_per_class)
    figures.cost_curve(folder / "finetune_cost.png", {"cost": history},
                       f"FixMatch, {labels} labels per class", log=True)  # fmt: skip
    metrics = classification_result(
        model, train, test, folder, f"FixMatch (semi), {labels} labels/class",
        pretrain=[], finetune=history, seconds=seconds, n_labelled=len(idx),
        class_names=facts.class_names,
    )  # fmt: skip
    # how good the graph's (and each later round's) labels were: scored after training,
    # against the pool's own labels (where it has them: an unlabelled image's is unknown)
    scores = [_label_accuracy(r["positions"], r["labels"], y_pool) for r in rounds]
    metrics["graph_labelled"] = len(rounds[0]["positions"])
    metrics["graph_label_accuracy"] = scores[0]
    metrics["round_label_accuracy"] = scores[1:]
    save_model(folder / "model.safetensors", model, config)
    return metrics


def _label_accuracy(positions: np.ndarray, labels: np.ndarray, truth: np.ndarray):
    """Share of ``labels`` at ``positions`` equal to ``truth`` there (-1: unknown, skipped);
    None when none is known."""
    known = truth[positions] >= 0
    return float(np.mean(labels[known] == truth[positions][known])) if known.any() else None
