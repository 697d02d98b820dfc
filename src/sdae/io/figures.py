"""Figures drawn from results: cost curves (Figs 5, 7, 9, 12), original / noisy / denoised
grids (Figs 6, 8, 10, 11) and confusion matrices. Matplotlib with the Agg backend; every
figure is written atomically as PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sdae.io.outputs import atomic_write


def _save(fig, path: str | Path) -> Path:
    out = atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)
    return out


def cost_curve(path, curves: dict[str, Sequence[float]], title: str, log: bool = False) -> Path:
    """One line per named cost history, against iterations."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, ys in curves.items():
        ax.plot(np.arange(1, len(ys) + 1), ys, label=name, lw=1.4)
    ax.set(xlabel="iteration", ylabel="training cost", title=title)
    if log:
        ax.set_yscale("log")
    if len(curves) > 1:
        ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def layer_costs(path, histories: Sequence[Sequence[float]], names: Sequence[str], title: str):
    """Fig. 12: one panel per pretrained layer (their costs differ by orders of magnitude)."""
    fig, axes = plt.subplots(1, len(histories), figsize=(4 * len(histories), 3.4), squeeze=False)
    for ax, ys, name in zip(axes[0], histories, names):
        ax.plot(np.arange(1, len(ys) + 1), ys, lw=1.4)
        ax.set(xlabel="iteration", ylabel="cost", title=name)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def image_rows(path, rows: dict[str, np.ndarray], title: str, col_titles=None,
               shape: tuple[int, ...] = (28, 28)) -> Path:  # fmt: skip
    """A grid with one row per named ``[K, D]`` array of images of ``shape``: ``(H, W)``
    grey or ``(H, W, 3)`` colour (e.g. original / noisy / denoised)."""
    n_cols = len(next(iter(rows.values())))
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(1.1 * n_cols, 1.25 * len(rows) + 0.4),
                             squeeze=False)  # fmt: skip
    for r, (name, imgs) in enumerate(rows.items()):
        for c in range(n_cols):
            ax = axes[r][c]
            img = np.asarray(imgs[c]).reshape(shape)
            if img.ndim == 3 and img.shape[2] == 1:
                img = img[..., 0]
            ax.imshow(np.clip(img, 0, 1), cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name, fontsize=9)
            if r == 0 and col_titles is not None:
                ax.set_title(col_titles[c], fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def image_sheet(path, columns: Sequence[tuple[str, dict[str, np.ndarray]]], title: str,
                cell: float = 1.3) -> Path:  # fmt: skip
    """One column per image, one row per named version of it (e.g. original / noisy /
    denoised): ``columns`` of ``(title, {row name: image})``, each image ``[h, w]`` grey or
    ``[h, w, 3]`` colour in [0, 1] (downscaled for display by the caller). Every image keeps
    its aspect: a column is as wide as its image at ``cell`` inches high (within 0.4 to 3
    times that); titles may run over several lines, and the layout makes room for them and
    for the figure's title."""
    names = list(columns[0][1])
    ratios = [float(np.clip(im.shape[1] / im.shape[0], 0.4, 3.0))
              for im in (next(iter(rows.values())) for _, rows in columns)]  # fmt: skip
    lines = max(t.count("\n") + 1 for t, _ in columns)
    size = (max(cell * sum(ratios) + 0.9, 4.5), cell * len(names) + 0.55 + 0.13 * lines)
    fig = plt.figure(figsize=size, layout="constrained")
    grid = fig.add_gridspec(len(names), len(columns), width_ratios=ratios)
    for c, (col_title, rows) in enumerate(columns):
        for r, name in enumerate(names):
            ax = fig.add_subplot(grid[r, c])
            img = np.clip(rows[name], 0, 1)
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name, fontsize=9)
            if r == 0:
                ax.set_title(col_title, fontsize=7)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def confusion(path, matrix: np.ndarray, class_names: Sequence[str], title: str) -> Path:
    """Confusion matrix: rows true class, columns predicted, counts in the cells."""
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    ax.imshow(matrix, cmap="Blues")
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(ticks, class_names, fontsize=8)
    high = matrix.max() / 2 if matrix.size else 0
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, int(v), ha="center", va="center", fontsize=7,
                color="white" if v > high else "black")  # fmt: skip
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    return _save(fig, path)


def line_panels(path, xs: Sequence[float], panels: dict[str, dict[str, Sequence[float]]], *,
                xlabel: str, ylabel: str, title: str) -> Path:
    """One panel per name in ``panels``, each with one line (and marker) per named series
    of ``len(xs)`` values, sharing the y axis."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4), squeeze=False,
                             sharey=True)  # fmt: skip
    for ax, (name, series) in zip(axes[0], panels.items()):
        for label, ys in series.items():
            ax.plot(xs, ys, marker="o", ms=3.5, lw=1.4, label=label)
        ax.set(xlabel=xlabel, title=name)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    axes[0][-1].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def accuracy_ladder(path, xs: Sequence[int], series: dict[str, tuple[Sequence, Sequence]],
                    anchors: dict[str, tuple[Sequence, Sequence]], *, title: str) -> Path:
    """Accuracy (%) against labels per class (log axis at ``xs``): one line per named series
    ``(means, stds)`` with the std as error bars (a mean None: not run), and each named anchor
    (a published result, ``(means, stds)``) as marked points with its own bars."""
    fig, ax = plt.subplots(figsize=(6.6, 5.6))
    for name, (means, stds) in series.items():
        pts = [(x, m, s or 0.0) for x, m, s in zip(xs, means, stds) if m is not None]
        if pts:
            px, pm, ps = zip(*pts)
            ax.errorbar(px, pm, yerr=ps, marker="o", ms=4, lw=1.4, capsize=3, label=name)
    for name, (means, stds) in anchors.items():
        ax.errorbar(xs, means, yerr=stds, ls="none", marker="*", ms=13, color="black",
                    capsize=3, label=name)  # fmt: skip
    ax.set_xscale("log")
    ax.set_xticks(list(xs), [str(x) for x in xs])
    ax.minorticks_off()
    ax.set(xlabel="labelled images per class", ylabel="test accuracy (%)", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.13))
    fig.tight_layout()
    return _save(fig, path)
