"""Denoising a user's own images with a trained denoising autoencoder (``sdae denoise``).

Inputs are PNG / JPEG files (any mode: colour is converted to grayscale, 16-bit is scaled by
its range, any size is resized to 28x28 and the result back) and ``.npy`` arrays ``[28, 28]``
or ``[N, 28, 28]`` of uint8 (0-255) or float (0-1). Pixels follow Fashion-MNIST: white 1,
black 0 (light garments on a black background). A file that cannot be read is recorded with
its error and the others are still denoised; a bad model or ``--out`` fails before any write.

Everything is written into a staging folder beside ``out`` and swapped into place at the end
(as :func:`sdae.io.outputs.staged_dir`): ``<name>.png`` (and ``<name>.npy`` for an array),
``<name>-noisy.png`` with ``add_noise``, ``sheet.png`` and, last, ``denoise.json``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from sdae.config.checks import check_noise
from sdae.data.images import SIDE, ImageInfo, read_images, resize
from sdae.errors import SdaeError
from sdae.io import figures
from sdae.io.checkpoints import load_model
from sdae.io.outputs import atomic_write, check_out_dir, read_json, staged_dir, write_json
from sdae.nn.noise import corrupt
from sdae.rng import Streams, check_seed
from sdae.runs.dae import denoise as reconstruct

SUMMARY = "denoise.json"  # written last: a folder holding one is a finished denoise output


SHEET_COLUMNS = 16


DAE_CLASSES = ("Autoencoder", "ConvAutoencoder")


GIVE_RUN = "give the --out folder of an `sdae dae` run, e.g. --model runs/dae"


def load_denoiser(run_dir: str | Path, device: str = "cpu") -> tuple[torch.nn.Module, dict]:
    """The DAE of the ``sdae dae`` run in ``run_dir``: ``(model in eval mode, config dict)``.
    Anything else (no folder, no model.safetensors, a classifier) is one :class:`SdaeError`."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise SdaeError(f"--model {run_dir} does not exist; {GIVE_RUN}")
    if not run_dir.is_dir():
        hint = f"its folder {run_dir.parent}" if run_dir.suffix == ".safetensors" else GIVE_RUN
        raise SdaeError(f"--model {run_dir} is a file, not a run folder; give {hint}")
    path = run_dir / "model.safetensors"
    if not path.is_file():
        raise SdaeError(f"--model {run_dir} holds no model.safetensors; {GIVE_RUN}")
    model, config = load_model(path, device)
    kind = type(model).__name__
    if kind not in DAE_CLASSES or (kind == "Autoencoder" and model.n_in != SIDE * SIDE):
        what = f"an Autoencoder of {model.n_in} inputs" if kind == "Autoencoder" else f"a {kind}"
        raise SdaeError(f"--model {run_dir} holds {what}, not a denoising autoencoder of 28x28 "
                        f"images; {GIVE_RUN}")  # fmt: skip
    if not isinstance(config, dict) and (run_dir / "config.json").is_file():
        config = read_json(run_dir / "config.json")
    return model, config if isinstance(config, dict) else {}


def training_noise(config: dict) -> tuple[str, float | None]:
    """The run's training noise ``(kind, level)`` from its config (tree or flat)."""
    train = config.get("train") if isinstance(config.get("train"), dict) else {}
    kind = train.get("noise", config.get("noise"))
    kind = kind if isinstance(kind, str) else "salt-and-pepper"
    return kind, train.get("noise_level", config.get("train_noise"))


def output_names(files: Sequence[str | Path]) -> list[str]:
    """Each file's stem, made unique (``a.png``, ``a.jpg`` -> ``a``, ``a-2``) and kept clear
    of the sheet, the summary and the ``-noisy`` outputs."""
    taken = {"sheet", Path(SUMMARY).stem}
    names = []
    for f in files:
        stem, k = Path(f).stem, 1
        name = stem
        while {name.lower(), f"{name}-noisy".lower()} & taken:
            k += 1
            name = f"{stem}-{k}"
        taken |= {name.lower(), f"{name}-noisy".lower()}
        names.append(name)
    return names


def denoise_files(files: Sequence[str | Path], run_dir: str | Path, out: str | Path, *,
                  add_noise: float = 0.0, seed: int = 0, device: str = "cpu",
                  overwrite: bool = False) -> dict[str, Any]:  # fmt: skip
    """Denoise every file with the DAE of ``run_dir`` into the folder ``out``.

    With ``add_noise`` > 0 the images are first corrupted by the run's training noise kind
    (seeded by ``seed``, stream ``denoise-noise``). Returns the summary written to
    ``denoise.json``: per file ``outputs`` (names in ``out``), ``messages`` (notes and
    warnings) and ``error`` (None, or the line saying why it was skipped); ``failed`` counts
    the errors. Bad arguments, model or ``out`` raise :class:`SdaeError` before any write.
    """
    check_seed(seed, "--seed")
    model, config = load_denoiser(run_dir, device)
    kind, level = training_noise(config)
    if add_noise != 0:
        check_noise(kind, add_noise, "--add-noise")
    rules = {"result": SUMMARY, "marker": SUMMARY, "what": "denoise output"}
    overwrite = overwrite or had_failures(out)  # a corrected re-run replaces a failed one
    check_out_dir(out, overwrite, **rules)
    noise = (kind, add_noise, Streams(seed).generator("denoise-noise")) if add_noise else None
    summary = {"model": str(Path(run_dir).resolve()), "model_class": type(model).__name__,
               "noise": kind, "noise_level": level, "add_noise": add_noise, "seed": seed,
               "device": device, "files": [], "sheet": None, "failed": 0,
               "written": True}  # fmt: skip
    try:
        _denoise_into(out, overwrite, rules, files, model, noise, kind, summary)
    except NothingDenoised:  # every file failed: --out is left as it was
        summary["written"] = False
    return summary


class NothingDenoised(Exception):
    """No file could be read: the staging folder is dropped, ``--out`` left untouched."""


def had_failures(out: str | Path) -> bool:
    """Whether ``out`` holds a denoise output in which some file could not be read."""
    try:
        return read_json(Path(out) / SUMMARY).get("failed", 0) > 0
    except (OSError, SdaeError, AttributeError, TypeError):
        return False


def _denoise_into(out, overwrite, rules, files, model, noise, kind, summary) -> None:
    with staged_dir(out, overwrite, **rules) as stage:
        shown = []  # (title, clean, noisy, denoised) of each image, for the sheet
        for path, name in zip(files, output_names(files)):
            record, images = _one_file(Path(path), name, model, stage, noise)
            summary["files"].append(record)
            for i, columns in enumerate(zip(*images or ())):
                shown.append((f"{name}[{i}]" if len(images[0]) > 1 else name, *columns))
        if shown:
            summary["sheet"] = write_sheet(stage / "sheet.png", shown[:SHEET_COLUMNS], noise, kind)
        summary["failed"] = sum(r["error"] is not None for r in summary["files"])
        if summary["failed"] == len(summary["files"]):
            raise NothingDenoised
        write_json(stage / SUMMARY, summary)


def _one_file(path: Path, name: str, model, folder: Path, noise):
    """Read, (corrupt,) denoise and write one file: ``(record, (clean, noisy, denoised) or
    None)``, each ``[N, 28, 28]``; a file that cannot be read gets its error in the record."""
    record = {"input": str(path), "outputs": [], "messages": [], "error": None}
    try:
        clean, info = read_images(path)
    except SdaeError as exc:
        record["error"] = str(exc)
        return record, None
    if info.colour:
        record["messages"].append(f"note: {path} is in colour; converted to grayscale")
    if info.resized:
        w, h = info.size
        record["messages"].append(f"warning: {path} is {w}x{h}; resized to 28x28 to denoise "
                                  f"and back to {w}x{h}")  # fmt: skip
    noisy, denoised = denoise(model, clean, noise)
    record["outputs"] = write_outputs(folder, name, info, denoised,
                                      noisy if noise else None)  # fmt: skip
    return record, (clean, noisy, denoised)


def denoise(model, images: np.ndarray, noise=None, batch: int = 1024):
    """``images: [N, 28, 28]`` in [0, 1] -> ``(noisy, denoised)``, both ``[N, 28, 28]``;
    ``noisy`` is ``images`` itself unless ``noise = (kind, level, generator)``."""
    device = next(model.parameters()).device
    x = torch.from_numpy(images.reshape(len(images), -1)).to(device)
    if noise is not None:
        x = corrupt(x, *noise)

    y = reconstruct(model, x, batch=batch)[1]
    return (x.cpu().numpy().reshape(images.shape), y.float().cpu().numpy().reshape(images.shape))


def write_outputs(folder: Path, name: str, info: ImageInfo, denoised: np.ndarray,
                  noisy: np.ndarray | None = None) -> list[str]:  # fmt: skip
    """Write one file's results (``[N, 28, 28]``) as the input was: an image of its size and
    bit depth, or an array of its shape and dtype plus a PNG grid. Returns the names."""
    written = []
    if info.kind == "npy":
        arr = _to_bits(denoised, "uint8") if info.dtype == "uint8" else denoised
        written.append(_save_npy(folder / f"{name}.npy", arr.reshape(info.shape)))
    written.append(_save_png(folder / f"{name}.png", _picture(denoised, info)))
    if noisy is not None:
        written.append(_save_png(folder / f"{name}-noisy.png", _picture(noisy, info)))
    return written


def _picture(images: np.ndarray, info: ImageInfo) -> np.ndarray:
    """``[N, 28, 28]`` as one 2-D integer picture: the input's size and depth, or a grid."""
    if info.kind == "image":
        return _to_bits(resize(images[0], info.size), info.dtype)
    n = len(images)
    cols = min(n, max(SHEET_COLUMNS, math.ceil(math.sqrt(n))))
    grid = np.zeros((math.ceil(n / cols) * cols, SIDE, SIDE), np.float32)
    grid[:n] = images
    grid = grid.reshape(-1, cols, SIDE, SIDE).transpose(0, 2, 1, 3).reshape(-1, cols * SIDE)
    return _to_bits(grid, "uint8")


def _to_bits(x: np.ndarray, dtype: str) -> np.ndarray:
    top = np.iinfo(dtype).max
    return np.clip(np.round(x * top), 0, top).astype(dtype)


def _save_png(path: Path, picture: np.ndarray) -> str:

    atomic_write(path, lambda tmp: Image.fromarray(picture).save(tmp, format="PNG"))
    return path.name


def _save_npy(path: Path, arr: np.ndarray) -> str:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.save would add ".npy" to a name
            np.save(f, arr, allow_pickle=False)

    atomic_write(path, write)
    return path.name


def write_sheet(path: Path, shown: list, noise, kind: str) -> str:
    """Columns ``(title, clean, noisy, denoised)`` (each ``[28, 28]``) as rows input /
    denoised, or original / noisy / denoised with ``noise``; returns the file's name."""
    titles, clean, noisy, denoised = zip(*shown)
    rows = {"original": clean, "noisy": noisy} if noise else {"input": clean}
    rows["denoised"] = denoised
    rows = {k: np.stack(v).reshape(len(v), -1) for k, v in rows.items()}
    title = f"denoised ({kind} {noise[1]} added)" if noise else "input and denoised"
    figures.image_rows(path, rows, title, [t if len(t) <= 12 else t[:11] + "…" for t in titles])
    return path.name
