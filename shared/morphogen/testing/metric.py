"""Checks of the :class:`~morphogen.metrics.protocol.Metric` protocol: a census of a metrics package and a
behavioural test of one accumulating metric against its pure function."""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from morphogen.metrics.protocol import Metric


def metric_classes(package: str) -> tuple[list[type], list[type], list[type]]:
    """Classify every class defined in the modules of ``package`` (e.g. ``"morphogen.music.metrics"``):
    (metric classes following :class:`Metric`, result records (dataclasses), others)."""
    pkg = importlib.import_module(package)
    modules = [pkg] + [importlib.import_module(i.name)
                       for i in pkgutil.walk_packages(getattr(pkg, "__path__", []), pkg.__name__ + ".")]
    metrics, records, others = [], [], []
    for mod in modules:
        for obj in vars(mod).values():
            if not inspect.isclass(obj) or obj.__module__ != mod.__name__:
                continue
            if dataclasses.is_dataclass(obj):
                records.append(obj)
            elif issubclass(obj, Metric):
                metrics.append(obj)
            else:
                others.append(obj)
    return metrics, records, others


def assert_metric_classes(package: str) -> list[type]:
    """Every class of a metrics package is a result record (a dataclass) or an accumulating :class:`Metric`
    (update / compute / reset). Returns the metric classes; raises AssertionError naming the others."""
    metrics, _, others = metric_classes(package)
    if others:
        lines = []
        for cls in others:
            lacks = [m for m in ("update", "compute", "reset") if not callable(getattr(cls, m, None))]
            lines.append(f"{cls.__module__}.{cls.__qualname__} (lacks {', '.join(lacks)})")
        raise AssertionError(f"{package}: classes that are neither a result dataclass nor a Metric with update / "
                             "compute / reset: " + "; ".join(lines))
    return metrics


def _plain(value: Any) -> Any:
    """Dataclasses -> dicts, tensors -> numpy, recursively (for comparing results)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _diff(a: Any, b: Any, rtol: float, atol: float, path: str = "result") -> str | None:
    """Where a and b differ (None if they agree; nan equals nan)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return f"{path}: keys {sorted(map(str, a))} vs {sorted(map(str, b))}"
        for k in a:
            d = _diff(a[k], b[k], rtol, atol, f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: lengths {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = _diff(x, y, rtol, atol, f"{path}[{i}]")
            if d:
                return d
        return None
    if isinstance(a, (np.ndarray, np.generic, float, int)) and isinstance(b, (np.ndarray, np.generic, float, int)):
        x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if x.shape != y.shape or not np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True):
            return f"{path}: {a!r} vs {b!r}"
        return None
    return None if a == b else f"{path}: {a!r} vs {b!r}"


def assert_metric(make: Callable[[], Any], updates: Sequence[tuple], expected: Any, *, rtol: float = 1e-9,
                  atol: float = 1e-12) -> None:
    """Check one accumulating metric against its pure function.

    Args:
        make: builds a fresh metric (with its references and options).
        updates: the argument tuples of two or more ``update`` calls.
        expected: the pure function's value on the concatenation of all updates' inputs.
        rtol, atol: tolerance on numbers (results are compared field by field; nan equals nan).

    Asserts: the object is a :class:`Metric`; update each batch, then ``compute()`` equals ``expected`` and a
    second ``compute()`` the same; after ``reset()`` and the first batch alone, ``compute()`` equals that of a
    fresh metric fed the first batch alone (reset keeps nothing of what was accumulated).
    """
    if len(updates) < 2:
        raise ValueError("assert_metric needs at least two update calls")
    m = make()
    if not isinstance(m, Metric):
        lacks = [k for k in ("update", "compute", "reset") if not callable(getattr(m, k, None))]
        raise AssertionError(f"{type(m).__name__} is not a morphogen Metric (lacks {', '.join(lacks)})")
    name = type(m).__name__
    for args in updates:
        m.update(*args)
    got = _plain(m.compute())
    d = _diff(got, _plain(expected), rtol, atol)
    if d:
        raise AssertionError(f"{name}: update x{len(updates)} then compute() differs from the pure function: {d}")
    d = _diff(_plain(m.compute()), got, rtol, atol)
    if d:
        raise AssertionError(f"{name}: a second compute() changed the value: {d}")
    m.reset()
    m.update(*updates[0])
    fresh = make()
    fresh.update(*updates[0])
    d = _diff(_plain(m.compute()), _plain(fresh.compute()), rtol, atol)
    if d:
        raise AssertionError(f"{name}: after reset() and one update, compute() differs from a fresh metric's: {d}")
