"""Reading a plain mapping (a YAML block) into a typed dataclass: unknown keys and mistyped values are errors that
name the file and the key, never silently ignored or coerced to something else."""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Mapping, TypeVar

from morphogen.errors import MorphogenError

T = TypeVar("T")


class TypedConfigError(MorphogenError, ValueError):
    """A configuration block with an unknown key or a value of the wrong type."""


def _check(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(hint):
            return None
        errors = []
        for option in typing.get_args(hint):
            if option is type(None):
                continue
            try:
                return _check(value, option, where)
            except TypedConfigError as err:
                errors.append(str(err))
        raise TypedConfigError(errors[0] if len(errors) == 1 else f"{where}: {value!r} fits none of {hint}")
    if hint is Any:
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise TypedConfigError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(hint)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise TypedConfigError(f"{where}: expected {len(args)} values, got {list(value)}")
            return tuple(_check(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        inner = args[0] if args else Any
        return origin(_check(v, inner, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict or hint is dict:
        if not isinstance(value, Mapping):
            raise TypedConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise TypedConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypedConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool):
            raise TypedConfigError(f"{where}: expected a number, got {value!r}")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 5e-4 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise TypedConfigError(f"{where}: expected a number, got {value!r}")
    if hint is str:
        if not isinstance(value, str):
            raise TypedConfigError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def from_mapping(cls: type[T], data: Mapping[str, Any] | None, where: str) -> T:
    """``cls(**data)`` for a dataclass ``cls``, checking every key and value type; ``where`` names the file and
    block in error messages (e.g. ``"presets/qm9.yaml: train"``)."""
    data = dict(data or {})
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise TypedConfigError(f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {unknown}; "
                               f"known keys: {sorted(names)}")
    values = {k: _check(v, hints[k], f"{where}.{k}") for k, v in data.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as err:
        raise TypedConfigError(f"{where}: {err}") from None
