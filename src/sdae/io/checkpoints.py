"""Weights as safetensors, with the model's shape and the run's config inside the file.

A checkpoint is self-describing: its safetensors metadata holds ``sdae_model`` (the model's
spec, :mod:`sdae.nn.spec`: its class name and fields) and ``sdae_config`` (the run's config as
JSON), so :func:`load_model` rebuilds any registered network without any pickle.
``config.json`` is also written beside it for people.

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
from sdae.nn import convnets, models  # noqa: F401  (registers sdae's models)
from sdae.nn.spec import build_model, short, spec_dict, spec_from_dict, spec_of

RESAVE = "re-save the model with sdae.io.checkpoints.save_model"


_ST_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16",
              torch.bfloat16: "BF16", torch.int64: "I64"}  # fmt: skip  (I64: batch-norm counts)


def describe(model: nn.Module) -> dict[str, Any]:
    """``model``'s spec as the JSON a checkpoint stores, e.g. ``{"class": "Autoencoder",
    "n_in": 784, "n_hidden": 256, "tied": false}``; ``TypeError`` for an unregistered model."""
    return spec_dict(spec_of(model))


def build(spec: dict[str, Any]) -> nn.Module:
    """The inverse of :func:`describe`: an untrained model of that shape. The dict may come
    from a file: any problem with it is one :class:`SdaeError` line."""
    return build_model(spec_from_dict(spec))


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
        # the file's tensors replace the meta ones: no random init, no copy, and none of
        # Module.to_empty's imports (~0.5 s of sdae denoise's start-up)
        model.load_state_dict({k: f.get_tensor(k) for k in header}, assign=True)
    return model.to(device).eval(), config


def _metadata_json(path: Path, meta: dict[str, str], key: str, nullable: bool) -> Any:
    """``meta[key]`` parsed: a JSON object, or null (also when absent) if ``nullable``."""
    try:
        value = json.loads(meta.get(key, "null"))
    except (ValueError, RecursionError) as exc:  # RecursionError: "[[[[..." a million deep
        raise SdaeError(f"{path}: {key} metadata is not valid JSON ({exc}); {RESAVE}") from None
    if not (isinstance(value, dict) or (value is None and nullable)):
        want = "a JSON object or null" if nullable else "a JSON object"
        raise SdaeError(f"{path}: {key} metadata must be {want}, not {short(value)}; {RESAVE}")
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


def _entry(shape: Any, dtype: str) -> str:
    """A tensor's dtype and shape as the messages show them, e.g. ``F32[16, 784]``."""
    return f"{dtype}{list(shape)}"
