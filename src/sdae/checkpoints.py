"""Weights as safetensors, with the model's shape and the run's config inside the file.

A checkpoint is self-describing: its safetensors metadata holds ``sdae_model`` (which class,
with its sizes) and ``sdae_config`` (the run's config as JSON), so :func:`load_model` rebuilds
the network without any pickle. ``config.json`` is also written beside it for people.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from sdae.errors import SdaeError
from sdae.models import Autoencoder, SmallCNN, StackedAutoencoder, StackedClassifier
from sdae.outputs import atomic_write, to_jsonable


def describe(model: nn.Module) -> dict[str, Any]:
    """The constructor arguments that rebuild ``model``'s shape."""
    if isinstance(model, Autoencoder):
        return {"class": "Autoencoder", "n_in": model.n_in, "n_hidden": model.n_hidden,
                "tied": model.tied}  # fmt: skip
    if isinstance(model, StackedClassifier):
        return {"class": "StackedClassifier", "sizes": list(model.stack.sizes),
                "tied": model.stack.layers[0].tied,
                "n_classes": model.head.out_features}  # fmt: skip
    if isinstance(model, StackedAutoencoder):
        return {"class": "StackedAutoencoder", "sizes": list(model.sizes),
                "tied": model.layers[0].tied}  # fmt: skip
    if isinstance(model, SmallCNN):
        return {"class": "SmallCNN", "n_classes": model.classifier[-1].out_features,
                "width": model.features[0].out_channels}  # fmt: skip
    raise TypeError(f"cannot describe {type(model).__name__}")


def build(spec: dict[str, Any]) -> nn.Module:
    """The inverse of :func:`describe`: an untrained model of that shape."""
    kind = spec.get("class")
    if kind == "Autoencoder":
        return Autoencoder(spec["n_in"], spec["n_hidden"], spec["tied"])
    if kind == "StackedAutoencoder":
        return StackedAutoencoder(spec["sizes"], spec["tied"])
    if kind == "StackedClassifier":
        return StackedClassifier(StackedAutoencoder(spec["sizes"], spec["tied"]), spec["n_classes"])
    if kind == "SmallCNN":
        return SmallCNN(spec["n_classes"], spec["width"])
    raise SdaeError(f"unknown model class {kind!r} in checkpoint")


def save_model(path: str | Path, model: nn.Module, config: Any = None) -> Path:
    """Write ``model``'s weights and description (and ``config``) atomically to ``path``."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    metadata = {
        "sdae_model": json.dumps(describe(model)),
        "sdae_config": json.dumps(to_jsonable(config)),
    }
    return atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def load_model(path: str | Path, device: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model saved at ``path``; returns ``(model in eval mode, config dict)``."""
    path = Path(path)
    if not path.is_file():
        raise SdaeError(f"no checkpoint at {path}; give the path of a model.safetensors")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        spec = json.loads(meta["sdae_model"])
        config = json.loads(meta.get("sdae_config", "null"))
        model = build(spec)
        model.load_state_dict(load_file(str(path), device="cpu"))
    except (SafetensorError, KeyError, ValueError, RuntimeError) as exc:
        raise SdaeError(f"{path} is not an sdae checkpoint ({type(exc).__name__}: {exc})") from None
    return model.to(device).eval(), config
