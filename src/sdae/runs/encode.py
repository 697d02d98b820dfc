"""``sdae encode``: the hidden-layer features of a trained run for every image of a source.

The codes of an ``sdae dae`` run (the MLP DAE's hidden layer, ``y = s(W x + b)``, paper
§IV.B) or of an ``sdae sae`` run (the deepest code ``a(n)`` of the fine-tuned stack, the
input of its softmax layer, paper §II.C) for the training images, then the test images, of
``--data``, written as one ``.npz``: ``codes`` float32 ``[N, k]``, ``labels`` int64 ``[N]``,
``split`` ``[N]`` (``"train"`` or ``"test"``). Nothing is unpickled, and the file is written
atomically: a run that fails leaves no file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sdae.data.sources import load_dataset
from sdae.errors import SdaeError
from sdae.io.checkpoints import load_model
from sdae.io.outputs import atomic_write, check_writable_parent
from sdae.nn.models import Autoencoder, StackedClassifier

GIVE_RUN = "give the --out folder of an `sdae dae` (MLP) or `sdae sae` run"
BATCH = 4096  # images per forward pass: bounds the memory of a large source


def load_encoder(run_dir: str | Path, device: str = "cpu") -> tuple[torch.nn.Module, dict]:
    """``(model in eval mode, its config dict)`` of a run whose model has a code; anything
    else is one :class:`SdaeError`."""
    run_dir = Path(run_dir)
    path = run_dir / "model.safetensors"
    if not run_dir.is_dir() or not path.is_file():
        raise SdaeError(f"--model {run_dir}: no run folder with a model.safetensors; {GIVE_RUN}")
    model, config = load_model(path, device)
    if not isinstance(model, (Autoencoder, StackedClassifier)):
        raise SdaeError(f"--model {run_dir} holds a {type(model).__name__}, which has no code "
                        f"layer to encode with; {GIVE_RUN}")  # fmt: skip
    return model, config if isinstance(config, dict) else {}


def _code(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    if isinstance(model, StackedClassifier):
        return model.stack.encode(x)
    return model.encode(x)


def encode_images(model: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    """``images`` uint8 ``[N, ...]`` -> codes float32 ``[N, k]``, in batches."""
    device = next(model.parameters()).device
    parts = []
    with torch.no_grad():
        for start in range(0, len(images), BATCH):
            chunk = images[start : start + BATCH].reshape(-1, int(np.prod(images.shape[1:])))
            x = torch.from_numpy(chunk.astype(np.float32) / 255.0).to(device)
            parts.append(_code(model, x).cpu().numpy())
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def encode_source(run_dir: str | Path, out: str | Path, data: str | None = None, *,
                  data_dir=None, device: str = "cpu", overwrite: bool = False,
                  image_size=None) -> dict:  # fmt: skip
    """Write the codes of ``run_dir``'s model for every image of ``data`` (default: the
    data the run was trained on, at its ``image_size``) into ``out`` (an ``.npz``): training
    images, then test images, then an image folder's unlabelled ones (split
    ``unlabelled``, label -1). Returns a summary: the source, the number of images per split
    and the code size."""
    out = Path(out)
    if out.suffix != ".npz":
        raise SdaeError(f"--out {out}: give a file name ending in .npz")
    if out.exists() and not overwrite:
        raise SdaeError(f"--out {out} exists; pass --overwrite or another --out")
    check_writable_parent(out, "--out")
    model, config = load_encoder(run_dir, device)
    source = data or config.get("data") or "fashion-mnist"
    if image_size is None and source == config.get("data") and config.get("image_size"):
        image_size = tuple(config["image_size"])
    dataset = load_dataset(source, data_dir=data_dir, data_seed=int(config.get("data_seed", 0)),
                           image_size=image_size)  # fmt: skip
    n_in = model.stack.sizes[0] if isinstance(model, StackedClassifier) else model.n_in
    if dataset.n_features != n_in:
        raise SdaeError(f"--model {run_dir} reads {n_in} values an image, and the images of "
                        f"{dataset.name} have {dataset.n_features}; give the --data it was "
                        "trained on")  # fmt: skip
    parts = {"train": (dataset.train_images, dataset.train_labels),
             "test": (dataset.test_images, dataset.test_labels)}  # fmt: skip
    extra = dataset.unlabelled_images
    if extra is not None and len(extra):
        parts["unlabelled"] = (extra, np.full(len(extra), -1))
    codes = [encode_images(model, images) for images, _ in parts.values()]
    arrays = {
        "codes": np.concatenate(codes).astype(np.float32),
        "labels": np.concatenate([labels for _, labels in parts.values()]).astype(np.int64),
        "split": np.array([name for name, c in zip(parts, codes) for _ in range(len(c))]),
    }

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would add ".npz" to a name
            np.savez(f, **arrays)

    atomic_write(out, write)
    counts = {f"n_{name}": len(c) for name, c in zip(parts, codes)}
    return {"source": source, **counts, "code_size": int(arrays["codes"].shape[1])}
