"""Denoise, then classify: does denoising help a classifier on noisy images?

The paper's motivation for the DAE is that clean inputs classify better; this measures it.
Classifiers trained on *clean* images (the CNN baseline and the 784-100 stacked
autoencoder) classify test images corrupted by salt-and-pepper noise at each level p, fed

- ``noisy``: as they are;
- ``median``: through the 3x3 median filter;
- ``adaptive_median``: through the adaptive (switching) median filter;
- ``mlp_dae`` / ``conv_dae``: through the paper's DAE / the conv DAE, each trained once at
  one noise level (``RobustConfig.dae_noise``) and used at every p.

Every input and classifier sees the same corrupted images at a level (one seeded draw per
level, stream ``robust-noise-<p>``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from sdae.config.denoising import RobustConfig
from sdae.evaluation import accuracy, adaptive_median_filter, median_filter, predict
from sdae.io import figures
from sdae.nn.noise import corrupt
from sdae.reproduce.rows import Row, Table, cell
from sdae.rng import Streams
from sdae.runs.dae import denoise

INPUTS = {"noisy": "noisy input", "median": "3x3 median", "adaptive_median": "adaptive median",
          "mlp_dae": "MLP DAE (paper)", "conv_dae": "conv DAE"}  # fmt: skip


CLASSIFIERS = {"cnn": "CNN baseline", "sae": "stacked autoencoder 784-100, 10 labels/class"}


def denoisers(mlp_dae: torch.nn.Module, conv_dae: torch.nn.Module) -> dict[str, Callable]:
    """Input name -> function ``[N, 784] -> [N, 784]`` (float32, on the input's device)."""

    def classical(fn):
        return lambda x: torch.as_tensor(fn(x), dtype=x.dtype, device=x.device)

    return {
        "noisy": lambda x: x,
        "median": classical(median_filter),
        "adaptive_median": classical(adaptive_median_filter),
        "mlp_dae": lambda x: denoise(mlp_dae, x)[1],
        "conv_dae": lambda x: denoise(conv_dae, x)[1],
    }


def evaluate(config: RobustConfig, classifiers: dict[str, torch.nn.Module],
             inputs: dict[str, Callable], x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    """Accuracy of each classifier on each input at each level of ``config``.

    ``x: [N, 784]`` clean test images, ``y: [N]`` labels. Returns
    ``{"levels": [...], "accuracy": {classifier: {input: [accuracy per level]}}}``.
    """
    streams = Streams(config.seed, "robust-", config.device)
    acc = {c: {i: [] for i in inputs} for c in classifiers}
    for level in config.levels:
        noisy = corrupt(x, config.noise, level, streams.generator(f"noise-{level}"))
        for name, fn in inputs.items():
            cleaned = fn(noisy)
            for c, model in classifiers.items():
                acc[c][name].append(accuracy(predict(model, cleaned), y))
    return {"levels": list(config.levels), "dae_noise": config.dae_noise, "accuracy": acc}


def figure(path: str | Path, result: dict[str, Any]) -> Path:
    """One panel per classifier: accuracy against p, one line per input."""
    panels = {CLASSIFIERS.get(c, c): {INPUTS.get(i, i): [100 * a for a in accs]
                                      for i, accs in by_input.items()}
              for c, by_input in result["accuracy"].items()}  # fmt: skip
    return figures.line_panels(
        path, result["levels"], panels, xlabel="salt-and-pepper noise p (one draw)",
        ylabel="test accuracy (%)",
        title=f"Denoise, then classify (DAEs trained at p = {result['dae_noise']})",
    )  # fmt: skip


def level_key(level: float) -> str:
    """The column key of noise level ``level`` in the report's table (``p=0.3``): made here
    only, so that a reader finds a level's cell from the number."""
    return f"p={level:g}"


def table(runs: list[dict[str, Any]]) -> Table:
    """The report's table: a row per classifier and input (its fields), a column per level
    (:func:`level_key`), each cell the accuracy in % over seeds (:func:`~.rows.cell`)."""
    if not runs:
        return Table("Denoise, then classify (not run)")
    levels = runs[0]["levels"]
    rows = []
    for c in runs[0]["accuracy"]:
        for i in runs[0]["accuracy"][c]:
            cells = {level_key(level): cell(None, [100 * r["accuracy"][c][i][k] for r in runs],
                                            "accuracy")
                     for k, level in enumerate(levels)}  # fmt: skip
            rows.append(Row(f"{CLASSIFIERS.get(c, c)} on {INPUTS.get(i, i)}", cells,
                            classifier=c, input=i))
    return Table("Denoise, then classify: test accuracy (%) on salt-and-pepper noise of "
                 f"level p, classifiers trained on clean images, DAEs trained at p = "
                 f"{runs[0]['dae_noise']}", rows)  # fmt: skip
