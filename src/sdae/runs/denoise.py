"""Denoising a user's own images with a trained denoising autoencoder (``sdae denoise``).

Inputs are picture files and ``.npy`` arrays ``[H, W]`` or ``[N, H, W]``
(:func:`sdae.data.images.read_images`). A conv model (:class:`ConvAutoencoder`) denoises each
image whole, at its own size, never resized (:func:`sdae.nn.tiling.denoise_image`: in
overlapping tiles above 512x512 pixels); a grey model takes a colour image channel by
channel, alpha is copied. The paper's MLP (:class:`Autoencoder`, 784 inputs) knows only 28x28
images: any other size is refused for that file, and a colour image is converted to grey (as
before). A file that cannot be read or denoised is recorded with its one-line error and the
others are still denoised; a bad model, ``--reference`` or ``--out`` fails before any write.

With ``add_noise`` the images are corrupted first, at full size, by the run's training noise;
with ``add_noise`` or a clean ``reference`` image each file's record holds the ``scores``
(PSNR, SSIM) of the noisy input, the 3x3 median, the adaptive median and sdae
(:func:`sdae.runs.references.reference_scores`).

Everything is written into a staging folder beside ``out`` and swapped into place at the end
(as :func:`sdae.io.outputs.staged_dir`): ``<name>.png`` (and ``<name>.npy`` for an array),
``<name>-noisy.png`` with ``add_noise``, ``sheet.png`` and, last, ``denoise.json``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from sdae import pretrained
from sdae.config.checks import check_noise
from sdae.data.images import SIDE, ImageInfo, read_images
from sdae.errors import SdaeError
from sdae.io.checkpoints import load_model
from sdae.io.outputs import check_out_dir, read_json, staged_dir, write_json
from sdae.nn.convnets import MIN_SIDE
from sdae.nn.noise import corrupt
from sdae.nn.tiling import denoise_images, passes
from sdae.pretrained import PHOTO_DENOISER, PREFIX
from sdae.rng import Streams, check_seed
from sdae.runs.denoise_out import SHEET_COLUMNS, column_title, thumbnail, write_outputs, write_sheet

SUMMARY = "denoise.json"  # written last: a folder holding one is a finished denoise output


DAE_CLASSES = ("Autoencoder", "ConvAutoencoder")
MLP_BATCH = 1000  # images per call of the MLP


GIVE_RUN = "give the --out folder of an `sdae dae` run, e.g. --model runs/dae"
MLP_ONLY_28 = ("the MLP DAE denoises 28x28 images only: drop --model to use the conv photo "
               "denoiser that ships with sdae, or train one (sdae dae --model conv)")  # fmt: skip


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
        raise SdaeError(f"--model {run_dir} holds {what}, not a denoising autoencoder; "
                        f"{GIVE_RUN}")  # fmt: skip
    if not isinstance(config, dict) and (run_dir / "config.json").is_file():
        config = read_json(run_dir / "config.json")
    return model, config if isinstance(config, dict) else {}


def shipped_denoiser(device: str = "cpu") -> tuple[torch.nn.Module, dict]:
    """The blind photo denoiser installed with sdae (:mod:`sdae.pretrained`), as
    :func:`load_denoiser` gives a run's."""
    return load_denoiser(pretrained.folder(PHOTO_DENOISER), device)


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


@dataclasses.dataclass
class _Job:
    model: torch.nn.Module
    noise: tuple | None  # (kind, level, generator) with --add-noise
    reference: tuple[np.ndarray, ImageInfo, Path] | None  # the clean image of --reference
    progress: bool


def denoise_files(files: Sequence[str | Path], run_dir: str | Path | None, out: str | Path, *,
                  add_noise: float = 0.0, seed: int = 0, device: str = "cpu",
                  overwrite: bool = False, reference: str | Path | None = None,
                  progress: bool = False) -> dict[str, Any]:  # fmt: skip
    """Denoise every file with the DAE of ``run_dir`` (None: the blind photo denoiser that
    ships with sdae, :func:`shipped_denoiser`) into the folder ``out``.

    With ``add_noise`` > 0 the images are first corrupted by the run's training noise kind
    (seeded by ``seed``, stream ``denoise-noise``). ``reference``: the clean version of the
    one file given, to score against. Returns the summary written to ``denoise.json``: per
    file ``outputs`` (names in ``out``), ``messages`` (notes), ``error`` (None, or the line
    saying why it was skipped) and ``scores`` (None without a clean image); ``failed`` counts
    the errors. Bad arguments, model, reference or ``out`` raise :class:`SdaeError` before
    any write. ``progress``: a bar over the tiles of a large image, on stderr.
    """
    check_seed(seed, "--seed")
    model, config = shipped_denoiser(device) if run_dir is None else load_denoiser(run_dir, device)
    kind, level = training_noise(config)
    if add_noise != 0:
        check_noise(kind, add_noise, "--add-noise")
    clean = None if reference is None else read_reference(reference, files)
    rules = {"result": SUMMARY, "marker": SUMMARY, "what": "denoise output"}
    overwrite = overwrite or had_failures(out)  # a corrected re-run replaces a failed one
    check_out_dir(out, overwrite, **rules)
    noise = (kind, add_noise, Streams(seed).generator("denoise-noise")) if add_noise else None
    name = PREFIX + PHOTO_DENOISER if run_dir is None else str(Path(run_dir).resolve())
    summary = {"model": name, "model_class": type(model).__name__,
               "noise": kind, "noise_level": level, "add_noise": add_noise, "seed": seed,
               "reference": None if reference is None else str(Path(reference).resolve()),
               "device": device, "files": [], "sheet": None, "failed": 0,
               "written": True}  # fmt: skip
    try:
        _denoise_into(out, overwrite, rules, files, _Job(model, noise, clean, progress), summary)
    except NothingDenoised:  # every file failed: --out is left as it was
        summary["written"] = False
    return summary


def read_reference(reference: str | Path, files: Sequence) -> tuple:
    """The clean image of ``--reference``: ``(images, info, path)``; one line if unreadable
    or if more than one file is to be denoised."""
    if len(files) != 1:
        raise SdaeError(f"--reference {reference} is the clean version of one image: give one "
                        f"input file with it, not {len(files)}")  # fmt: skip
    try:
        images, info = read_images(reference)
    except SdaeError as exc:
        raise SdaeError(f"--reference {exc}") from None
    return images, info, Path(reference)


class NothingDenoised(Exception):
    """No file could be read: the staging folder is dropped, ``--out`` left untouched."""


def had_failures(out: str | Path) -> bool:
    """Whether ``out`` holds a denoise output in which some file could not be read."""
    try:
        return read_json(Path(out) / SUMMARY).get("failed", 0) > 0
    except (OSError, SdaeError, AttributeError, TypeError):
        return False


def _denoise_into(out, overwrite, rules, files, job: _Job, summary) -> None:
    with staged_dir(out, overwrite, **rules) as stage:
        shown = []  # (title, {row: thumbnail}) of each image, for the sheet
        for path, name in zip(files, output_names(files)):
            record, columns = _one_file(Path(path), name, job, stage, SHEET_COLUMNS - len(shown))
            summary["files"].append(record)
            shown += columns
        if shown:
            summary["sheet"] = write_sheet(stage / "sheet.png", shown, _sheet_title(job))
        summary["failed"] = sum(r["error"] is not None for r in summary["files"])
        if summary["failed"] == len(summary["files"]):
            raise NothingDenoised
        write_json(stage / SUMMARY, summary)


def _sheet_title(job: _Job) -> str:
    if job.noise:
        return f"denoised ({job.noise[0]} {job.noise[1]} added; PSNR against the original)"
    if job.reference is not None:
        return f"denoised (PSNR against {job.reference[2].name})"
    return "input and denoised"


def _one_file(path: Path, name: str, job: _Job, folder: Path, room: int):
    """Read, fit to the model, (corrupt,) denoise, score and write one file: ``(record,
    sheet columns)``; a file that cannot be read or denoised gets its error in the record."""
    record = {"input": str(path), "size": None, "outputs": [], "messages": [], "error": None,
              "scores": None}  # fmt: skip
    try:
        clean, info = read_images(path)
        clean, info = fit_to_model(path, clean, info, job.model, record["messages"])
        truth = clean if job.reference is None else _matched(path, clean, info, job.reference)
    except SdaeError as exc:
        record["error"] = str(exc)
        return record, []
    record["size"] = list(info.size)
    noisy = _corrupt(clean, job.noise)
    denoised = _apply(job.model, noisy, job.progress)
    scores = None
    if job.noise or job.reference is not None:
        from sdae.runs.references import reference_scores  # scikit-image: only to score

        scores = [reference_scores(*images) for images in zip(truth, noisy, denoised)]
        record["scores"] = {m: {k: float(np.mean([s[m][k] for s in scores])) for k in scores[0][m]}
                            for m in scores[0]}  # fmt: skip
    record["outputs"] = write_outputs(folder, name, info, denoised,
                                      noisy if job.noise else None)  # fmt: skip
    rows = {"original": truth, "noisy": noisy} if job.noise else {"input": noisy}
    if job.reference is not None:
        rows = {"reference": truth, "noisy" if job.noise else "input": noisy}
    rows["denoised"] = denoised
    columns = []
    for i in range(min(room, len(clean))):
        title = column_title(f"{name}[{i}]" if len(clean) > 1 else name, scores and scores[i])
        columns.append((title, {k: thumbnail(v[i]) for k, v in rows.items()}))
    return record, columns


def fit_to_model(path: Path, images: np.ndarray, info: ImageInfo, model, messages: list
                 ) -> tuple[np.ndarray, ImageInfo]:  # fmt: skip
    """``images`` as ``model`` takes them, or one :class:`SdaeError` line saying why it
    cannot: the MLP only 28x28 grey (colour converted, with a note), a conv model at least
    8 pixels a side and channels it can match. Notes go to ``messages``."""
    w, h = info.size
    if type(model).__name__ == "Autoencoder":
        if (w, h) != (SIDE, SIDE):
            raise SdaeError(f"{path} is {w}x{h}; {MLP_ONLY_28}")
        if info.colour:
            messages.append(f"note: {path} is in colour; converted to grayscale")
            rgb = np.round(images * 255).astype(np.uint8)
            images = np.stack([np.asarray(Image.fromarray(x).convert("L")) for x in rgb])
            images = images.astype(np.float32) / 255
        return images, dataclasses.replace(info, colour=False, alpha=None)
    messages += [f"note: {note}" for note in info.notes]
    if min(w, h) < MIN_SIDE:
        raise SdaeError(f"{path} is {w}x{h}, under {MIN_SIDE} pixels a side: too small for the "
                        "conv DAE (its two 2x2 poolings); give a larger image")  # fmt: skip
    channels, c = (3 if info.colour else 1), model.image_shape[2]
    try:
        how = passes(model, channels)[0][1]
    except ValueError as exc:
        raise SdaeError(f"{path} has {channels} channel(s): {exc}; use a model trained on such "
                        "images") from None  # fmt: skip
    if how == "per channel":
        messages.append(f"note: {path} is in colour; the grey model denoises each channel on "
                        "its own")  # fmt: skip
    elif how == "grey in every channel":
        messages.append(f"note: {path} is grey; the {c}-channel model sees it in every channel "
                        "and the output is their mean")  # fmt: skip
    return images, info


def _matched(path: Path, images: np.ndarray, info: ImageInfo, reference) -> np.ndarray:
    """The reference's images, refused in one line unless they match ``images``."""
    ref, ref_info, ref_path = reference
    if ref.shape != images.shape:
        raise SdaeError(f"{path} is {info.describe()} but --reference {ref_path} is "
                        f"{ref_info.describe()}; give the clean version of the same image")
    return ref


def _corrupt(images: np.ndarray, noise) -> np.ndarray:
    """``images`` (any shape ``[N, ...]``) corrupted whole by ``noise = (kind, level,
    generator)`` (each image flattened, channels last), or themselves without noise."""
    if noise is None:
        return images
    x = torch.from_numpy(np.ascontiguousarray(images).reshape(len(images), -1))
    return corrupt(x, *noise).numpy().reshape(images.shape)


def _apply(model, images: np.ndarray, progress: bool) -> np.ndarray:
    """``model``'s denoising of ``images`` (``[N, H, W]`` or ``[N, H, W, C]``), float32."""
    if type(model).__name__ == "ConvAutoencoder":
        return denoise_images(model, images, progress=progress)
    device = next(model.parameters()).device
    flat = np.ascontiguousarray(images).reshape(len(images), -1)
    with torch.inference_mode():
        parts = [model.reconstruct(torch.from_numpy(flat[i : i + MLP_BATCH]).to(device))
                 .float().cpu().numpy() for i in range(0, len(flat), MLP_BATCH)]  # fmt: skip
    return np.concatenate(parts).reshape(images.shape)
