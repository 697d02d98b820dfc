"""Trees of frozen dataclasses: change them by path, and read them back from JSON with types
checked.

A path names a field through the tree: ``"train.lr"``, ``"finetune.augment"``;
``"pretrain[].lr"`` names the field ``lr`` of every element of the tuple ``pretrain`` (the
value is one value for all, or one per element). :func:`apply` makes all the changes to one
node in a single ``dataclasses.replace``, so each node is validated once, with all its new
values together. :func:`from_json` is the inverse of :func:`to_jsonable` for
such trees, and raises :class:`SdaeError` on any key or type the tree does not have.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections import defaultdict
from pathlib import Path
from typing import Any

from sdae.errors import SdaeError, SettingError


def _split(changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    here, below = {}, defaultdict(dict)
    for path, value in changes.items():
        head, _, rest = path.partition(".")
        if rest:
            below[head][rest] = value
        else:
            here[head] = value
    return here, below


def _per_item(value: Any, n: int, what: str) -> tuple:
    if not isinstance(value, (tuple, list)):
        return (value,) * n
    if len(value) == 1:
        return tuple(value) * n
    if len(value) != n:
        raise SdaeError(f"{what}: {len(value)} values for {n} layers; give one value, or one "
                        "per layer")  # fmt: skip
    return tuple(value)


def apply(node: Any, changes: dict[str, Any], names: dict[str, str] | None = None) -> Any:
    """``node`` with the ``changes`` (path -> value) made; ``names`` maps a path to the name a
    message should use for it (a flag)."""
    names = names or {}
    here, below = _split(changes)
    for head, sub in below.items():
        if head.endswith("[]"):
            items = getattr(node, head[:-2])
            per = {k: _per_item(v, len(items), names.get(f"{head}.{k}", k))
                   for k, v in sub.items()}  # fmt: skip
            item_names = {k: names[f"{head}.{k}"] for k in sub if f"{head}.{k}" in names}
            here[head[:-2]] = tuple(apply(item, {k: per[k][i] for k in per}, item_names)
                                    for i, item in enumerate(items))  # fmt: skip
        else:
            prefix = f"{head}."
            sub_names = {p[len(prefix):]: n for p, n in names.items() if p.startswith(prefix)}
            here[head] = apply(getattr(node, head), sub, sub_names)
    try:
        return dataclasses.replace(node, **here) if here else node
    except SettingError as exc:  # name the setting as the user gave it
        raise exc.renamed(names) from None


def has_path(node: Any, path: str) -> bool:
    """Whether ``path`` names a field of ``node``'s tree."""
    head, _, rest = path.partition(".")
    name = head.removesuffix("[]")
    if not dataclasses.is_dataclass(node) or name not in {f.name for f in
                                                         dataclasses.fields(node)}:
        return False
    if not rest:
        return True
    child = getattr(node, name)
    if head.endswith("[]"):
        return bool(child) and has_path(child[0], rest)
    return has_path(child, rest)


def _where(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _from_dataclass(cls: type, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise SdaeError(f"{where or 'config'}: expected an object of settings, got "
                        f"{type(value).__name__}")  # fmt: skip
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(value) - fields)
    if unknown:
        raise SdaeError(f"{_where(where, unknown[0])}: not a setting of {cls.__name__}")
    # a key written after the file was: what its absence meant then (cls.LEGACY), else default
    value = {**getattr(cls, "LEGACY", {}), **value}
    kwargs = {k: from_json(hints[k], v, _where(where, k)) for k, v in value.items()}
    return cls(**kwargs)


def _fits(cls: type, value: Any) -> bool:
    """Whether a JSON object has exactly the fields of dataclass ``cls`` (picks a union arm)."""
    return isinstance(value, dict) and set(value) <= {f.name for f in dataclasses.fields(cls)}


def from_json(tp: Any, value: Any, where: str = "") -> Any:
    """``value`` (parsed JSON) as type ``tp``: dataclasses from objects, tuples from arrays,
    scalars checked; :class:`SdaeError` naming the path on anything else."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return _from_dataclass(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        arms = [a for a in args if a is not type(None)]
        if all(dataclasses.is_dataclass(a) for a in arms):
            arms = [a for a in arms if _fits(a, value)] or arms[:1]
        errors = []
        for arm in arms:
            try:
                return from_json(arm, value, where)
            except SdaeError as exc:
                errors.append(str(exc))
        raise SdaeError(errors[0])
    if origin is tuple:
        if not isinstance(value, list):
            raise SdaeError(f"{where}: expected a list, got {type(value).__name__}")
        return tuple(from_json(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool) and type(value) is tp:
        return value
    raise SdaeError(f"{where}: expected {getattr(tp, '__name__', tp)}, got {value!r}")

def to_jsonable(obj: Any) -> Any:
    """Dataclasses, paths, tuples and numpy/torch scalars as plain JSON values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and callable(obj.item):  # numpy or torch scalar
        return obj.item()
    return obj
