"""Model specs: the frozen dataclass a network is built from, keeps as ``model.spec`` and a
checkpoint stores, and the registry from a model's class name to its class and spec class.

Adding a model is one class and its spec::

    @dataclass(frozen=True)
    class TinySpec(ModelSpec):
        n_in: int
        tied: bool = False

    @register(TinySpec)
    class Tiny(nn.Module):
        def __init__(self, n_in: int, tied: bool = False) -> None:
            super().__init__()
            self.spec = TinySpec(n_in, tied)  # checked; then draw the weights from it
            ...

The constructor takes the spec's fields (``build_model(spec)`` is ``Tiny(**fields)``) and
keeps the spec; :mod:`sdae.io.checkpoints` writes ``spec_dict(model.spec)`` and rebuilds the
model with :func:`spec_from_dict` and :func:`build_model`, whatever its class. A field is an
``int`` (a positive size), a ``bool`` or a ``tuple[int, ...]`` (two or more sizes), checked
on creation with one :class:`SdaeError` line. Torch-free: nothing here draws or allocates.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from sdae.errors import SdaeError

if TYPE_CHECKING:
    from torch import nn


def short(value: Any) -> str:
    """A value as JSON for a one-line message, cut short: it may be a megabyte of list."""
    text = json.dumps(value, default=repr)
    return text if len(text) <= 40 else text[:37] + "..."


def _size(v: Any) -> int | None:
    """``v`` as an int if it is a positive integer (not a bool, not 16.0), else None."""
    ok = isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
    return int(v) if ok else None


def _sizes(v: Any) -> tuple[int, ...] | None:
    if not isinstance(v, (list, tuple)) or len(v) < 2:
        return None
    sizes = tuple(_size(s) for s in v)
    return None if None in sizes else sizes


def _flag(v: Any) -> bool | None:
    return v if isinstance(v, bool) else None


# a field's annotation -> (its value normalised, or None if invalid; what it must be)
_KINDS: dict[Any, tuple[Callable[[Any], Any], str]] = {
    "int": (_size, "a positive integer"),
    "bool": (_flag, "true or false"),
    "tuple[int, ...]": (_sizes, "a list of two or more positive integers"),
}
_KINDS.update({int: _KINDS["int"], bool: _KINDS["bool"],  # annotations not postponed
               tuple[int, ...]: _KINDS["tuple[int, ...]"]})  # fmt: skip


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Base of the specs: checks and normalises every field on creation (an integer type such
    as ``numpy.int64`` becomes ``int``, a list of sizes a tuple)."""

    model: ClassVar[str] = ""  # the name of the model class it builds, set by register

    def __post_init__(self) -> None:
        owner = type(self).model or type(self).__name__
        for field in dataclasses.fields(self):
            normalise, what = _KINDS[field.type]
            value = getattr(self, field.name)
            if (good := normalise(value)) is None:
                raise SdaeError(f"{owner} field {field.name!r} must be {what}, not {short(value)}")
            object.__setattr__(self, field.name, good)

    def arguments(self) -> dict[str, Any]:
        """The model constructor's keyword arguments: the fields, by name."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


# model class name -> (model class, spec class), in the order they were registered
MODELS: dict[str, tuple[type[nn.Module], type[ModelSpec]]] = {}


def register(spec_class: type[ModelSpec]) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator: the model is built from ``spec_class`` and saved by its class name.

    Refuses (``TypeError``, at import) a spec that is not a frozen dataclass of checkable
    fields, one already used, a name already registered, or a constructor that does not take
    the spec's fields.
    """

    def decorate(model_class: type[nn.Module]) -> type[nn.Module]:
        name = model_class.__name__
        if not (isinstance(spec_class, type) and issubclass(spec_class, ModelSpec)
                and "__dataclass_params__" in vars(spec_class)
                and spec_class.__dataclass_params__.frozen):
            raise TypeError(f"{name}'s spec must be a frozen dataclass subclassing ModelSpec")
        if name in MODELS or "model" in vars(spec_class):
            raise TypeError(f"{name} or its spec {spec_class.__name__} is already registered")
        fields = [f.name for f in dataclasses.fields(spec_class)]
        odd = [f.name for f in dataclasses.fields(spec_class) if f.type not in _KINDS]
        if odd:
            raise TypeError(f"{spec_class.__name__} fields {odd} are not int, bool or "
                            "tuple[int, ...]")  # fmt: skip
        params = inspect.signature(model_class).parameters
        if missing := [f for f in fields if f not in params]:
            raise TypeError(f"{name}() does not take its spec's fields {missing}")
        spec_class.model = name
        MODELS[name] = (model_class, spec_class)
        return model_class

    return decorate


def build_model(spec: ModelSpec) -> nn.Module:
    """An untrained model of ``spec``: its class called with the spec's fields."""
    return MODELS[type(spec).model][0](**spec.arguments())


def spec_of(model: nn.Module) -> ModelSpec:
    """``model.spec``: ``TypeError`` unless ``model`` is (a subclass of) a registered model."""
    spec = getattr(model, "spec", None)
    if not isinstance(spec, ModelSpec) or type(spec).model not in MODELS:
        raise TypeError(f"cannot describe {type(model).__name__}: it has no registered spec")
    return spec


def spec_dict(spec: ModelSpec) -> dict[str, Any]:
    """``spec`` as JSON data: ``{"class": "Autoencoder", "n_in": 784, ...}`` (sizes a list).
    A field added to a spec after checkpoints were written without it (its metadata says
    ``added``) is left out at its default, so such a model's file stays as it was."""
    fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)
              if not (f.metadata.get("added") and getattr(spec, f.name) == f.default)}
    fields = {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}
    return {"class": type(spec).model, **fields}


def spec_from_dict(data: Any) -> ModelSpec:
    """The inverse of :func:`spec_dict`, for data read from a file that may hold anything:
    any problem is one :class:`SdaeError` line."""
    if not isinstance(data, dict):
        raise SdaeError(f"it must be a JSON object, not {short(data)}")
    kind = data.get("class")
    if not isinstance(kind, str) or kind not in MODELS:
        raise SdaeError(f"unknown model class {short(kind)}; expected one of "
                        f"{', '.join(sorted(MODELS))}")  # fmt: skip
    spec_class = MODELS[kind][1]
    names = [f.name for f in dataclasses.fields(spec_class)]
    needed = {f.name for f in dataclasses.fields(spec_class) if not f.metadata.get("added")}
    if not needed <= set(data) - {"class"} <= set(names):
        raise SdaeError(f"{kind} needs exactly the fields {', '.join(names)}, "
                        f"got {', '.join(k for k in data if k != 'class') or 'none'}")  # fmt: skip
    return spec_class(**{k: data[k] for k in names if k in data})
