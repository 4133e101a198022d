"""``assert_equivariant``: a function's outputs transform with its inputs under a symmetry group.

    from morphogen.testing import Permutation, assert_equivariant

    assert_equivariant(lambda x, adj, mask: net(state(x, adj, mask)), {"x": x, "adj": adj, "mask": mask},
                       Permutation({"x": (1,), "adj": (1, 2)}, outputs={"X": (1,), "A": (1, 2)}, mask="mask"),
                       atol=1e-10)

``fn`` is called as ``fn(**inputs)`` and returns a tensor (named ``"output"``) or a mapping name -> tensor (numpy
arrays are accepted). Each kind of group element (see :mod:`morphogen.testing.groups`) is drawn ``trials`` times;
for each, ``fn(**g(inputs))`` must equal ``g(fn(**inputs))`` output by output: moved for the group's equivariant
outputs, unchanged for all others. A failure names the group element, the output, the largest deviation and where
it is.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import Tensor

from morphogen.testing.groups import Symmetry, describe


class EquivarianceError(AssertionError):
    """An output did not transform as the symmetry says."""


@dataclass
class SymmetryReport:
    """Largest deviation seen per (element kind, output) over all trials, e.g. ``{"rotation/forces": 3e-15}``."""

    deviations: dict[str, float] = field(default_factory=dict)
    trials: int = 0

    @property
    def max_deviation(self) -> float:
        return max(self.deviations.values(), default=0.0)


def _outputs(result: Any) -> dict[str, Tensor]:
    if isinstance(result, (Tensor, np.ndarray)):
        result = {"output": result}
    if not isinstance(result, Mapping):
        raise TypeError(f"fn must return a tensor or a mapping name -> tensor, got {type(result).__name__}")
    out = {}
    for k, v in result.items():
        t = torch.as_tensor(v)
        out[str(k)] = t.double() if not t.is_floating_point() and not t.is_complex() else t
    return out


def assert_equivariant(
    fn: Callable[..., Any],
    inputs: Mapping[str, Any],
    group: Symmetry,
    *,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    trials: int = 2,
    seed: int = 0,
) -> SymmetryReport:
    """Assert ``fn(**g(inputs)) == g(fn(**inputs))`` for random elements ``g`` of ``group``.

    Args:
        fn: the function under test (a denoiser wrapped to take named tensors).
        inputs: name -> batched tensor (B, ...) (or anything else, passed through unchanged).
        group: a :class:`~morphogen.testing.groups.Permutation`, :class:`~morphogen.testing.groups.Euclidean` or
            :class:`~morphogen.testing.groups.PeriodicTranslation` naming the inputs it moves and the equivariant
            outputs; every other output must be invariant.
        atol, rtol: an entry passes when its deviation is <= atol + rtol * |expected|.
        trials: random elements per kind.
        seed: seed of the elements' random source.

    Returns: the :class:`SymmetryReport` (largest deviations), when every check passed.
    Raises: :class:`EquivarianceError` naming the element kind, the output, the largest deviation and its index.
    """
    gen = torch.Generator().manual_seed(int(seed))
    base = _outputs(fn(**inputs))
    missing = group.equivariant_outputs() - set(base)
    if missing:
        raise KeyError(f"{type(group).__name__} names the outputs {sorted(missing)}, but fn returned {sorted(base)}")
    report = SymmetryReport()
    for kind in group.element_kinds():
        for trial in range(int(trials)):
            g = group.draw(inputs, kind, gen)
            moved = _outputs(fn(**g.apply_inputs(inputs)))
            for name, original in base.items():
                if name not in moved:
                    raise KeyError(f"{describe(kind, group)}: fn returned no '{name}' for the transformed inputs")
                expected = g.expected(name, original)
                actual = moved[name]
                if actual.shape != expected.shape:
                    raise EquivarianceError(
                        f"{describe(kind, group)}: output '{name}' has shape {tuple(actual.shape)} for the transformed "
                        f"inputs, {tuple(expected.shape)} expected")
                dev = g.deviation(name, actual, expected.to(actual.dtype)).double()
                key = f"{kind}/{name}"
                finite = torch.nan_to_num(dev, nan=float("inf"))  # a NaN counts as an infinite deviation
                worst = float(finite.max()) if dev.numel() else 0.0
                report.deviations[key] = max(report.deviations.get(key, 0.0), worst)
                bad = ~(dev <= atol + rtol * expected.double().abs())
                if bool(bad.any()):
                    flat = int(torch.where(bad, finite, torch.full_like(finite, -1.0)).argmax())
                    where = tuple(int(i) for i in np.unravel_index(flat, tuple(dev.shape)))
                    role = "equivariant" if name in group.equivariant_outputs() else "invariant"
                    raise EquivarianceError(
                        f"{describe(kind, group)} (trial {trial}): output '{name}' is not {role}: max |deviation| "
                        f"{worst:.3g} at index {where} (atol {atol:g}, rtol {rtol:g}; {int(bad.sum())} of "
                        f"{dev.numel()} entries out of tolerance)")
        report.trials += int(trials)
    return report


def assert_invariant(fn: Callable[..., Any], inputs: Mapping[str, Any], group: Symmetry, **kwargs: Any
                     ) -> SymmetryReport:
    """:func:`assert_equivariant` with every output required unchanged (the group's ``outputs`` are ignored)."""
    return assert_equivariant(fn, inputs, group.invariant(), **kwargs)
