"""Weights as safetensors, with the model's shape and the run's config inside the file.

A checkpoint is self-describing: its safetensors metadata holds ``sdae_model`` (which class,
with its sizes) and ``sdae_config`` (the run's config as JSON), so :func:`load_model` rebuilds
the network without any pickle. ``config.json`` is also written beside it for people.

A checkpoint is untrusted input: :func:`load_model` never unpickles, checks every field and
compares the header's tensor names, shapes and dtypes with the described model before it
allocates anything, and reports any problem as one :class:`SdaeError` line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import safe_open, save_file
from torch import nn

from sdae.devices import check_device
from sdae.errors import SdaeError
from sdae.io.outputs import atomic_write, to_jsonable
from sdae.nn.convnets import ConvAutoencoder, DeepCNN, SmallCNN
from sdae.nn.models import Autoencoder, StackedAutoencoder, StackedClassifier

RESAVE = "re-save the model with sdae.io.checkpoints.save_model"


_SIZE = (lambda v: type(v) is int and v > 0, "a positive integer")  # type(): bool is no size


_FIELD_TYPES = {
    "n_in": _SIZE, "n_hidden": _SIZE, "n_classes": _SIZE, "width": _SIZE,
    "tied": (lambda v: type(v) is bool, "true or false"),
    "passthrough": (lambda v: type(v) is bool, "true or false"),
    "sizes": (lambda v: type(v) in (list, tuple) and len(v) >= 2 and all(_SIZE[0](s) for s in v),
              "a list of two or more positive integers"),
}  # fmt: skip


_FIELDS = {
    "Autoencoder": ("n_in", "n_hidden", "tied"),
    "StackedAutoencoder": ("sizes", "tied"),
    "StackedClassifier": ("sizes", "tied", "n_classes"),
    "SmallCNN": ("n_classes", "width"),
    "ConvAutoencoder": ("width", "passthrough"),
    "DeepCNN": ("n_classes", "width"),
}


_ST_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16",
              torch.bfloat16: "BF16", torch.int64: "I64"}  # fmt: skip  (I64: batch-norm counts)


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
    if isinstance(model, ConvAutoencoder):
        return {"class": "ConvAutoencoder", "width": model.width, "passthrough": model.passthrough}
    if isinstance(model, (SmallCNN, DeepCNN)):
        kind = type(model).__name__
        return {"class": kind, "n_classes": model.classifier[-1].out_features,
                "width": model.features[0].out_channels}  # fmt: skip
    raise TypeError(f"cannot describe {type(model).__name__}")


def _check_spec(spec: Any) -> None:
    """Raise :class:`SdaeError` unless ``spec`` is what :func:`describe` writes: a spec read
    from a file could hold anything, and the constructors would fail on it obscurely."""
    if not isinstance(spec, dict):
        raise SdaeError(f"it must be a JSON object, not {_short(spec)}")
    kind = spec.get("class")
    if kind not in _FIELDS:
        raise SdaeError(f"unknown model class {_short(kind)}; expected one of {', '.join(_FIELDS)}")
    if set(spec) != {"class", *_FIELDS[kind]}:
        raise SdaeError(f"{kind} needs exactly the fields {', '.join(_FIELDS[kind])}, "
                        f"got {', '.join(k for k in spec if k != 'class') or 'none'}")  # fmt: skip
    for name in _FIELDS[kind]:
        valid, what = _FIELD_TYPES[name]
        if not valid(spec[name]):
            raise SdaeError(f"{kind} field {name!r} must be {what}, not {_short(spec[name])}")


def build(spec: dict[str, Any]) -> nn.Module:
    """The inverse of :func:`describe`: an untrained model of that shape."""
    _check_spec(spec)
    kind = spec["class"]
    if kind == "Autoencoder":
        return Autoencoder(spec["n_in"], spec["n_hidden"], spec["tied"])
    if kind == "StackedAutoencoder":
        return StackedAutoencoder(spec["sizes"], spec["tied"])
    if kind == "StackedClassifier":
        return StackedClassifier(StackedAutoencoder(spec["sizes"], spec["tied"]), spec["n_classes"])
    if kind == "ConvAutoencoder":
        return ConvAutoencoder(spec["width"], spec["passthrough"])
    if kind == "DeepCNN":
        return DeepCNN(spec["n_classes"], spec["width"])
    return SmallCNN(spec["n_classes"], spec["width"])


def save_model(path: str | Path, model: nn.Module, config: Any = None) -> Path:
    """Write ``model``'s weights and description (and ``config``) atomically to ``path``."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    metadata = {
        "sdae_model": json.dumps(describe(model)),
        "sdae_config": json.dumps(to_jsonable(config)),
    }
    return atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def load_model(path: str | Path, device: str = "cpu") -> tuple[nn.Module, dict[str, Any] | None]:
    """Rebuild the model saved at ``path``: ``(model in eval mode, config dict or None)``.

    Any bad ``device`` or file gives one :class:`SdaeError`; nothing is unpickled, and
    nothing is allocated until the header matches the model its metadata describes.
    """
    check_device(device)
    path = Path(path)
    if path.is_dir():
        raise SdaeError(f"{path} is a directory; give the path of the model.safetensors in it")
    if not path.is_file():
        raise SdaeError(f"no checkpoint at {path}; give the path of a model.safetensors")
    try:
        f = safe_open(str(path), framework="pt")
    except (SafetensorError, OSError) as exc:
        raise SdaeError(_not_safetensors(path, exc)) from None
    with f:
        meta = f.metadata() or {}
        if "sdae_model" not in meta:
            raise SdaeError(f"{path} has no sdae_model metadata, so sdae did not write it; "
                            f"{RESAVE}")  # fmt: skip
        spec = _metadata_json(path, meta, "sdae_model", nullable=False)
        config = _metadata_json(path, meta, "sdae_config", nullable=True)
        header = {k: _entry(f.get_slice(k).get_shape(), f.get_slice(k).get_dtype())
                  for k in f.keys()}  # fmt: skip
        model = _skeleton(path, spec, len(header))
        _check_tensors(path, header, model, spec["class"])
        model = model.to_empty(device="cpu")  # no random init: the file overwrites every tensor
        model.load_state_dict({k: f.get_tensor(k) for k in header})
    return model.to(device).eval(), config


def _metadata_json(path: Path, meta: dict[str, str], key: str, nullable: bool) -> Any:
    """``meta[key]`` parsed: a JSON object, or null (also when absent) if ``nullable``."""
    try:
        value = json.loads(meta.get(key, "null"))
    except (ValueError, RecursionError) as exc:  # RecursionError: "[[[[..." a million deep
        raise SdaeError(f"{path}: {key} metadata is not valid JSON ({exc}); {RESAVE}") from None
    if not (isinstance(value, dict) or (value is None and nullable)):
        want = "a JSON object or null" if nullable else "a JSON object"
        raise SdaeError(f"{path}: {key} metadata must be {want}, not {_short(value)}; {RESAVE}")
    return value


def _skeleton(path: Path, spec: dict[str, Any], n_tensors: int) -> nn.Module:
    """The described model on the meta device: its names, shapes and dtypes, and no memory."""
    sizes = spec.get("sizes")
    try:  # every layer has tensors: refuse more before building a million meta modules
        if isinstance(sizes, list) and len(sizes) > n_tensors + 1:
            raise SdaeError(f"it describes {len(sizes) - 1} layers but the file holds "
                            f"{n_tensors} tensors")  # fmt: skip
        with torch.device("meta"):
            return build(spec)
    except SdaeError as exc:
        raise SdaeError(f"{path}: bad sdae_model metadata: {exc}; {RESAVE}") from None
    except (RuntimeError, TypeError, OverflowError) as exc:  # sizes beyond int64 elements/bytes
        detail = str(exc).splitlines()[0]
        raise SdaeError(f"{path}: sdae_model describes a model too large to build ({detail}); "
                        f"{RESAVE}") from None  # fmt: skip


def _check_tensors(path: Path, header: dict, model: nn.Module, kind: str) -> None:
    """The file must hold exactly the model's tensors, shape for shape and dtype for dtype."""
    want = {k: _entry(v.shape, _ST_DTYPES.get(v.dtype, str(v.dtype)))
            for k, v in model.state_dict().items()}  # fmt: skip
    problems = []
    for k in [*want, *(k for k in header if k not in want)]:  # the model's order first
        if k not in header or k not in want:
            problems.append(f"{'missing' if k in want else 'unexpected'} {k}")
        elif header[k] != want[k]:
            problems.append(f"{k} is {header[k]} in the file but {want[k]} in the model")
    if problems:
        more = f" and {len(problems) - 2} more" if len(problems) > 2 else ""
        raise SdaeError(f"{path}: its tensors do not match the {kind} its sdae_model metadata "
                        f"describes ({'; '.join(problems[:2])}{more}); {RESAVE}")  # fmt: skip


def _not_safetensors(path: Path, exc: Exception) -> str:
    """Say what the file looks like instead, so that a torch.save file is named as such."""
    detail = " ".join(str(exc).split())
    try:
        with path.open("rb") as fh:
            head = fh.read(2)
    except OSError as err:
        return f"cannot read {path} ({err.strerror}); check the path and its permissions"
    if not head:
        return f"{path} is empty, not a safetensors checkpoint; give a model.safetensors"
    if head == b"PK" or (head[:1] == b"\x80" and head[1:] in (b"\x02", b"\x03", b"\x04", b"\x05")):
        return (f"{path} is a pickle or torch.save file, not safetensors, and sdae never unpickles "
                f"(it can run code); {RESAVE}")  # fmt: skip
    return f"{path} is not a safetensors file ({detail}); give a model.safetensors written by sdae"


def _short(value: Any) -> str:
    """A value as JSON for a one-line message, cut short: it may be a megabyte of list."""
    text = json.dumps(value, default=repr)
    return text if len(text) <= 40 else text[:37] + "..."


def _entry(shape: Any, dtype: str) -> str:
    """A tensor's dtype and shape as the messages show them, e.g. ``F32[16, 784]``."""
    return f"{dtype}{list(shape)}"
