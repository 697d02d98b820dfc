"""What every classification run writes: accuracies on the pool and the test images, the
confusion matrix and its figure, and the metrics keys of ``sdae sae``'s metrics.json.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sdae.config.flags import DIGESTS_KEY
from sdae.data.fashion_mnist import CLASS_NAMES
from sdae.data.sources import BUILTIN
from sdae.data.splits import Split, labelled_indices, load_splits, source_digests
from sdae.evaluation import accuracy, confusion_matrix, predict
from sdae.io import figures
from sdae.io.outputs import check_out_dir, read_json, staged_dir, write_json


def one_per_class(labels: torch.Tensor) -> list[int]:
    """Index of the first image of each class: the columns of the reconstruction grids."""
    y = labels.cpu().numpy()
    return [int(np.flatnonzero(y == c)[0]) for c in range(int(y.max()) + 1 if y.size else 0)
            if (y == c).any()]  # fmt: skip


def _classification_metrics(model, train: Split, test: Split, out: Path, title: str,
                            class_names: tuple[str, ...]):
    """Accuracy on the whole pool and on the test set, and the confusion matrix figure."""
    def _predict(x):
        return predict(model, x) if isinstance(model, torch.nn.Module) else model.predict(x)

    pred_train, pred_test = _predict(train.x), _predict(test.x)
    matrix = confusion_matrix(pred_test, test.y, len(class_names))
    figures.confusion(out / "confusion.png", matrix, class_names, title)
    return {
        "train_accuracy": accuracy(pred_train, train.y),
        "test_accuracy": accuracy(pred_test, test.y),
        "confusion_matrix": matrix.tolist(),
    }


def classification_result(model, train: Split, test: Split, out: Path, title: str,
                          *, pretrain: list[list[float]], finetune: list[float],
                          seconds: float, n_labelled: int,
                          class_names: tuple[str, ...] = CLASS_NAMES) -> dict[str, Any]:
    """The metrics every classifier run writes (the keys of ``sdae sae``'s metrics.json);
    ``class_names`` label the confusion matrix (Fashion-MNIST's by default)."""
    return {
        "pretrain_final_costs": [h[-1] for h in pretrain],
        "pretrain_precision": [getattr(h, "precision", None) for h in pretrain],
        "finetune_final_cost": finetune[-1] if finetune else None,
        "finetune_precision": getattr(finetune, "precision", None),
        **_classification_metrics(model, train, test, out, title, class_names),
        "train_seconds": seconds,
        "n_labelled": n_labelled,
        "n_train": len(train),
        "n_test": len(test),
        "pretrain_cost_histories": pretrain,
        "finetune_cost_history": finetune,
    }


def run_staged(config, out: str | Path, write: Callable[..., dict[str, Any]], *, data_dir=None,
               progress: bool = False, overwrite: bool = False, download: bool = True,
               labelled: bool = False) -> dict[str, Any]:
    """What every ``run_*`` does around its work: check ``out`` before the data loads, load
    the protocol's splits onto the device, check the labelled draw (``labelled``) before any
    training, and call ``write(config, folder, train, test, progress=...)`` in a staging
    folder swapped into place when it returns (:func:`sdae.io.outputs.staged_dir`). Returns
    what ``write`` returns: the metrics."""
    check_out_dir(out, overwrite)
    source, size = getattr(config, "data", "fashion-mnist"), getattr(config, "image_size", None)
    train, test = load_splits(config.protocol, config.data_seed, config.device, data_dir, download,
                              source=source, image_size=size)  # fmt: skip
    if labelled:
        labelled_indices(train, config.labels_per_class, config.labels_seed)
    digests = source_digests(source, config.data_seed, size)
    if progress and source not in BUILTIN:  # a user's files have no checksum to match: show it
        for name, digest in digests.items():
            print(f"data: sha256 {digest}  {name}", file=sys.stderr)
    with staged_dir(out, overwrite) as folder:
        metrics = write(config, folder, train, test, progress=progress)
        record_data(folder / "config.json", digests)
        return metrics


def record_data(path: Path, digests: dict[str, str]) -> None:
    """Add ``data_sha256`` (file name -> SHA-256 of what was read) to the ``config.json`` at
    ``path``, so that a result traces back to the very files it came from."""
    if path.is_file():
        write_json(path, {**read_json(path), DIGESTS_KEY: digests})
