"""``sdae sae``: greedy layer-wise pretraining on the whole pool, a softmax layer, fine-tuning
on the labelled images (paper §IV.C, §V.B), written into a run folder.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from sdae.config.checks import facts_of, labels_text
from sdae.config.classification import SaeConfig
from sdae.data.splits import Split, labelled_indices
from sdae.io import figures
from sdae.io.checkpoints import save_model
from sdae.io.outputs import RESULT_FILE, write_json
from sdae.nn.augment import image_shape
from sdae.nn.models import StackedClassifier, seeded
from sdae.nn.training import finetune, pretrain_stack
from sdae.rng import Streams
from sdae.runs.common import classification_result, run_staged


def pretrain_model(config: SaeConfig, train: Split, *, progress: bool = False):
    """A :class:`StackedClassifier` of ``config.arch`` whose stack is pretrained greedily on
    the whole pool ``train.pool`` (the images, and the source's unlabelled ones; its softmax
    layer untrained). Returns ``(model, histories)``."""
    with seeded(config.seed):
        model = StackedClassifier(config.sizes, config.tied, facts_of(config).n_classes)
    model.to(config.device)
    histories = pretrain_stack(model.stack, train.pool, config.pretrain,
                               Streams(config.seed, device=config.device), progress=progress)
    return model, histories


def finetune_model(model: StackedClassifier, config: SaeConfig, train: Split,
                   *, progress: bool = False) -> tuple[list[float], int]:
    """Fine-tune ``model`` on the labelled draw of ``config`` from ``train``.

    Returns ``(cost history, number of labelled images)``.
    """
    labelled = labelled_indices(train, config.labels_per_class, config.labels_seed)
    idx = torch.as_tensor(labelled, device=train.x.device)
    history = finetune(model, train.x[idx], train.y[idx], config.finetune,
                       rng=Streams(config.seed, "finetune-", config.device), progress=progress,
                       shape=image_shape(facts_of(config).image_shape))
    return history, len(labelled)


def pretraining_figure(path, config: SaeConfig, histories) -> Path:
    """Fig. 12: each layer's pretraining cost."""
    names = [f"{a}-{b}-{a}" for a, b in zip(config.sizes[:-1], config.sizes[1:])]
    return figures.layer_costs(path, histories, names, f"Layer-wise pretraining, {config.arch}")


def run_sae(config: SaeConfig, out: str | Path, *, data_dir=None, progress: bool = False,
            overwrite: bool = False, download: bool = True) -> dict[str, Any]:
    """Greedy layer-wise pretraining on the whole pool, a softmax layer, fine-tuning on the
    labelled images (paper §IV.C, §V.B).

    Writes ``config.json``, ``layer_costs.png`` (Fig. 12), ``finetune_cost.png``,
    ``confusion.png``, ``model.safetensors`` and ``metrics.json``. ``train_accuracy`` is
    measured on the whole pool (the paper's 51.18 % cannot be the accuracy on 10 images).
    """
    return run_staged(config, out, write_sae, data_dir=data_dir, progress=progress,
                      overwrite=overwrite, download=download, labelled=True)


def write_sae(config: SaeConfig, out: Path, train: Split, test: Split, *,
              progress: bool = False) -> dict[str, Any]:
    """The work of :func:`run_sae`, into the existing folder ``out``."""
    write_json(out / "config.json", config)
    labels = labels_text(config.labels_per_class)
    start = time.perf_counter()
    model, layer_histories = pretrain_model(config, train, progress=progress)
    ft_history, n_labelled = finetune_model(model, config, train, progress=progress)
    seconds = time.perf_counter() - start
    pretraining_figure(out / "layer_costs.png", config, layer_histories)
    figures.cost_curve(out / "finetune_cost.png", {"cost": ft_history},
                       f"Fine-tuning, {labels} labels per class", log=True)
    metrics = classification_result(
        model, train, test, out, f"SAE {config.arch}, {labels} labels/class",
        pretrain=layer_histories, finetune=ft_history, seconds=seconds, n_labelled=n_labelled,
        class_names=facts_of(config).class_names,
    )  # fmt: skip
    save_model(out / "model.safetensors", model, config)
    write_json(out / RESULT_FILE, metrics)
    return metrics
