"""Constructor arguments are the configuration.

Classes that inherit :class:`Configurable` remember the arguments they were built with; :func:`spec_of` turns an
object into a plain spec ``{"class": "module.Class", "args": {...}}`` (nested objects become nested specs, tensors
become lists), and :func:`build` rebuilds the object from such a spec (from a YAML preset or a checkpoint), so
nothing is ever unpickled. Only classes under the ``morphogen.`` namespace (or registered prefixes) are built.
"""
from __future__ import annotations

import importlib
import inspect
from typing import Any

from morphogen.errors import MorphogenError

ALLOWED_PREFIXES = ["morphogen."]


class ConfigError(MorphogenError, ValueError):
    """A spec that cannot be built (unknown class, disallowed module, bad arguments)."""


class Configurable:
    """Mixin: records the bound constructor arguments of each instance in ``_config_args``."""

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        try:
            bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
            bound.apply_defaults()
            params = dict(bound.arguments)
            params.pop(next(iter(params)))  # self
            var_kw = [n for n, p in inspect.signature(cls.__init__).parameters.items() if p.kind is p.VAR_KEYWORD]
            for n in var_kw:
                params.update(params.pop(n, {}))
            object.__setattr__(obj, "_config_args", params)
        except TypeError:
            object.__setattr__(obj, "_config_args", None)
        return obj

    def __repr__(self) -> str:
        args = getattr(self, "_config_args", None)
        if args is None:
            return object.__repr__(self)
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in args.items())})"


def _plain(value: Any) -> Any:
    try:
        import torch

        if isinstance(value, torch.Tensor):
            return {"tensor": value.detach().cpu().tolist(), "dtype": str(value.dtype).replace("torch.", "")}
        if isinstance(value, torch.dtype):
            return {"dtype_name": str(value).replace("torch.", "")}
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, Configurable):
        return spec_of(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ConfigError(f"cannot express {value!r} ({type(value).__name__}) as a configuration value")


def spec_of(obj: Configurable) -> dict:
    """``{"class": "module.Class", "args": {...}}`` for an object built from configuration values."""
    args = getattr(obj, "_config_args", None)
    if args is None:
        raise ConfigError(f"{type(obj).__name__} does not record its constructor arguments")
    return {"class": f"{type(obj).__module__}.{type(obj).__qualname__}", "args": {k: _plain(v) for k, v in args.items()}}


def _resolve(path: str):
    if not any(path.startswith(p) for p in ALLOWED_PREFIXES):
        raise ConfigError(f"refusing to build '{path}': only classes under {ALLOWED_PREFIXES} are allowed")
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"unknown class '{path}': {err}") from None


def resolve_class(path: str):
    """The class a spec's ``"class"`` names (same checks as :func:`build`: allowed prefixes, a clear error)."""
    return _resolve(path)


def build(spec: Any) -> Any:
    """Rebuild objects, tensors and containers from a spec produced by :func:`spec_of` or written in YAML."""
    if isinstance(spec, dict):
        if "class" in spec:
            cls = _resolve(spec["class"])
            args = {k: build(v) for k, v in (spec.get("args") or {}).items()}
            try:
                return cls(**args)
            except TypeError as err:
                raise ConfigError(f"cannot build {spec['class']}: {err}") from None
        if set(spec) == {"tensor", "dtype"}:
            import torch

            return torch.tensor(spec["tensor"], dtype=getattr(torch, spec["dtype"]))
        if set(spec) == {"dtype_name"}:
            import torch

            return getattr(torch, spec["dtype_name"])
        return {k: build(v) for k, v in spec.items()}
    if isinstance(spec, list):
        return [build(v) for v in spec]
    return spec
