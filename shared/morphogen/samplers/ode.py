"""Probability-flow ODE samplers for Gaussian processes: Euler (optionally with heavy-ball momentum) and Heun.

``dx/dt = v(x, t)``, the probability-flow velocity implied by the denoiser's prediction. The last step jumps
to the predicted data (for flow matching this equals an Euler step to t = 1).

Heavy-ball momentum (Wizadwongsa & Suwajanakorn, 2023): the velocity is replaced by its running average
``m <- momentum * m + (1 - momentum) * v`` (``momentum = 0``: plain Euler); it damps the oscillations that make
few-step samplers diverge.
"""
from __future__ import annotations

from typing import ClassVar

from morphogen.processes.base import apply_mask, expand_like
from morphogen.samplers.base import Sampler


class ODEEuler(Sampler):
    name: ClassVar[str] = "ode_euler"
    requires: ClassVar[frozenset[str]] = frozenset({"gaussian"})

    def __init__(self, steps: int = 100, grid: str = "uniform", momentum: float = 0.0):
        super().__init__(steps, grid)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = float(momentum)

    def _step(self, ctx, state, pred, t_next):
        avg = ctx.memory.setdefault("velocity", {})
        new = {}
        for k, s in state.items():
            v = ctx.joint[k].convert(s.value, s.t, pred[k], ctx.kinds[k], "velocity")
            if self.momentum > 0:
                v = v if k not in avg else self.momentum * avg[k] + (1.0 - self.momentum) * v
                avg[k] = v
            tn = self._t(s, t_next)
            new[k] = s.with_value(apply_mask(s.value + expand_like(tn - s.t, s.value) * v, s.mask), t=tn)
        return new


class Heun(Sampler):
    """Second-order Heun (trapezoidal) steps; NFE = 2 * steps - 1 (the last step is the data jump)."""

    name: ClassVar[str] = "heun"
    requires: ClassVar[frozenset[str]] = frozenset({"gaussian"})

    def expected_nfe(self, guided: bool = False) -> int:
        return (2 * self.steps - 1) * (2 if guided else 1)

    def _step(self, ctx, state, pred, t_next):
        joint, kinds = ctx.joint, ctx.kinds
        v0, trial = {}, {}
        for k, s in state.items():
            v0[k] = joint[k].convert(s.value, s.t, pred[k], kinds[k], "velocity")
            tn = self._t(s, t_next)
            trial[k] = s.with_value(apply_mask(s.value + expand_like(tn - s.t, s.value) * v0[k], s.mask), t=tn)
        trial = ctx.apply_fixed(trial)
        pred1 = ctx.predict(trial)
        new = {}
        for k, s in state.items():
            tr = trial[k]
            v1 = joint[k].convert(tr.value, tr.t, pred1[k], kinds[k], "velocity")
            h = expand_like(tr.t - s.t, s.value)
            new[k] = s.with_value(apply_mask(s.value + 0.5 * h * (v0[k] + v1), s.mask), t=tr.t)
        return new
