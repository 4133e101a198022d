"""Closed-form denoisers of a wrapped-normal mixture on the circle for the torus processes of
:mod:`morphogen.processes.wrapped`.

Target (the same, independently, at every entry of a field (B, ...)): p1(x) = sum_c w_c WN(x; mu_c, s_c^2) on a
circle of length P, WN(x; mu, s^2) = sum_j N(x; mu + j P, s^2).

Wrapped-normal diffusion. x_t = wrap(x1 + sigma eps) adds independent Gaussian displacements, and a wrapped normal
convolved with a normal is a wrapped normal, so p_t(x) = sum_c w_c WN(x; mu_c, s_c^2 + sigma(t)^2) exactly; its
score is the image sum

    grad log p_t(x) = sum_{c,j} r_cj(x) * (-(x - mu_c - j P) / v_c),   v_c = s_c^2 + sigma^2,

r_cj the softmax over (c, j) of log w_c - log(2 pi v_c) / 2 - (x - mu_c - j P)^2 / (2 v_c).

Geodesic flow matching with a uniform source. With d = wrap_diff(x1 - x0) and x0 uniform, d is uniform on
[-P/2, P/2) whatever x1 is, and x_t = wrap(x0 + t d) = wrap(x1 - (1 - t) d). Hence, given x1, x_t is uniform on the
arc of half-width h = (1 - t) P / 2 centred at x1:

    p(x_t | x1) = 1 / (2 h)  if |wrap_diff(x1 - x_t)| < h,  else 0,

and on that arc the path's velocity is d = wrap_diff(x1 - x_t) / (1 - t). Writing x1 = x_t + u with u in (-h, h),
the posterior of u given x_t is p1(x_t + u) restricted to (-h, h), so the marginal velocity is

    v_t(x) = E[d | x_t = x] = (1 / (1 - t)) * int_{-h}^{h} u p1(x + u) du / int_{-h}^{h} p1(x + u) du.

For a wrapped-normal mixture both integrals are sums over components and images of truncated-normal masses and
first moments: with z = x + u - mu_c - j P ~ N(0, s_c^2) restricted to [a, b] = [x - mu_c - j P - h, ... + h],
mass Z = Phi(b / s) - Phi(a / s) and E[z] = s (phi(a / s) - phi(b / s)) / Z. Everything is closed form (normal
CDFs, computed in log space in float64); no quadrature and no simulation is involved. The test suite checks it
against a Monte-Carlo histogram of simulated (x_t, d) pairs.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import torch
from torch import Tensor

from morphogen.processes.base import FieldState, apply_mask
from morphogen.processes.wrapped import TorusFlowMatching, WrappedGaussian, wrap

LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _log1mexp(a: Tensor) -> Tensor:
    """log(1 - exp(a)) for a <= 0, accurate on both sides of -log 2 (Maechler's rule)."""
    return torch.where(a > -math.log(2.0), torch.log(-torch.expm1(a)), torch.log1p(-torch.exp(a)))


def log_normal_mass(alpha: Tensor, beta: Tensor) -> Tensor:
    """log(Phi(beta) - Phi(alpha)) for alpha <= beta (standard normal), accurate in both tails."""
    upper = alpha > 0  # both in the upper tail: Phi(beta) - Phi(alpha) = Phi(-alpha) - Phi(-beta)
    hi = torch.special.log_ndtr(torch.where(upper, -alpha, beta))
    lo = torch.special.log_ndtr(torch.where(upper, -beta, alpha))
    return hi + _log1mexp((lo - hi).clamp_max(0.0))


class WrappedNormalMixture:
    """sum_c w_c WN(mu_c, s_c^2) on a circle of length ``period``.

    Args:
        weights: (C,) mixture weights (normalised here).
        locs: (C,) component centres in data units (read modulo the period).
        stds: (C,) component standard deviations in data units (> 0).
        period: circle length P.
    """

    def __init__(self, weights: Any, locs: Any, stds: Any, period: float = 1.0):
        w = torch.as_tensor(weights, dtype=torch.float64).reshape(-1)
        self.period = float(period)
        self.weights = w / w.sum()
        self.locs = wrap(torch.as_tensor(locs, dtype=torch.float64).reshape(-1), self.period)
        self.stds = torch.as_tensor(stds, dtype=torch.float64).reshape(-1).expand(w.shape[0]).clone()
        if self.locs.shape != w.shape or (self.weights < 0).any() or (self.stds <= 0).any():
            raise ValueError("need C non-negative weights, C locs and C positive stds")

    def sample(self, shape: tuple[int, ...], generator: torch.Generator | None = None, dtype=torch.float32) -> Tensor:
        """Draws of ``shape`` in [0, P)."""
        n = math.prod(shape)
        c = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        z = torch.randn(n, dtype=torch.float64, generator=generator)
        return wrap(self.locs[c] + self.stds[c] * z, self.period).reshape(shape).to(dtype)

    def circular_moment(self, k: int, extra_var: float = 0.0) -> tuple[float, float]:
        """(E[cos(2 pi k x / P)], E[sin(2 pi k x / P)]) of the mixture convolved with N(0, extra_var):
        sum_c w_c exp(-2 pi^2 k^2 (s_c^2 + extra_var) / P^2) (cos, sin)(2 pi k mu_c / P)."""
        damp = torch.exp(-2.0 * math.pi**2 * k**2 * (self.stds**2 + extra_var) / self.period**2)
        ang = 2.0 * math.pi * k * self.locs / self.period
        return float((self.weights * damp * torch.cos(ang)).sum()), float((self.weights * damp * torch.sin(ang)).sum())

    def _images(self, std: float, margin: int) -> Tensor:
        n = margin + math.ceil(9.0 * std / self.period)
        return torch.arange(-n, n + 1, dtype=torch.float64) * self.period

    def _terms(self, x: Tensor, extra_var: Tensor | float) -> tuple[Tensor, Tensor, Tensor]:
        """log-weights (..., C, J) of the image sum of p convolved with N(0, extra_var), the displacements
        x - mu_c - j P and the variances, for x (...) and extra_var broadcastable to x."""
        xd = wrap(x.double(), self.period)
        ev = torch.as_tensor(extra_var, dtype=torch.float64)
        var = self.stds**2 + ev.expand_as(xd)[..., None]  # (..., C)
        shifts = self._images(math.sqrt(float(self.stds.max() ** 2 + ev.max())), 1)
        e = xd[..., None, None] - self.locs[:, None] - shifts  # (..., C, J)
        v = var[..., None]
        logq = torch.log(self.weights)[:, None] - 0.5 * torch.log(v) - LOG_SQRT_2PI - e * e / (2.0 * v)
        return logq, e, v

    def log_density(self, x: Tensor, extra_var: Tensor | float = 0.0) -> Tensor:
        """log p(x) (float64, x's shape) of the mixture convolved with N(0, extra_var) (broadcastable to x)."""
        logq, _, _ = self._terms(x, extra_var)
        return torch.logsumexp(logq.flatten(-2), dim=-1)

    def score(self, x: Tensor, extra_var: Tensor | float = 0.0) -> Tensor:
        """d/dx log p(x) (float64, x's shape) of the mixture convolved with N(0, extra_var)."""
        logq, e, v = self._terms(x, extra_var)
        r = torch.softmax(logq.flatten(-2), dim=-1).reshape(logq.shape)
        return -(r * e / v).sum((-2, -1))

    def arc_mean(self, x: Tensor, half_width: Tensor) -> Tensor:
        """E[u] for u in (-h, h) with density proportional to p(x + u) (float64, x's shape): the mean offset of the
        mixture restricted to the arc of half-width h (broadcastable to x, 0 < h <= P/2) around x."""
        xd = wrap(x.double(), self.period)
        h = torch.as_tensor(half_width, dtype=torch.float64).expand_as(xd)[..., None, None]
        shifts = self._images(float(self.stds.max()), 2)
        c = xd[..., None, None] - self.locs[:, None] - shifts  # (..., C, J): z = c + u
        s = self.stds[:, None]
        alpha, beta = (c - h) / s, (c + h) / s
        log_mass = log_normal_mass(alpha, beta)  # (..., C, J)
        logw = torch.log(self.weights)[:, None] + log_mass
        r = torch.softmax(logw.flatten(-2), dim=-1).reshape(logw.shape)
        log_phi_a = -0.5 * alpha * alpha - LOG_SQRT_2PI
        log_phi_b = -0.5 * beta * beta - LOG_SQRT_2PI
        safe = torch.where(torch.isfinite(log_mass), log_mass, torch.zeros_like(log_mass))
        mean_z = s * (torch.exp(log_phi_a - safe) - torch.exp(log_phi_b - safe))  # E[z | z in [c - h, c + h]]
        mean_z = torch.where(r > 0, mean_z, torch.zeros_like(mean_z))
        return (r * (mean_z - c)).sum((-2, -1))


def _bind(oracle, field: str, mixture: "WrappedNormalMixture", process, kind: str) -> None:
    """Check that the target and the process share a period and the kind is accepted; store them on the oracle."""
    process.check_prediction_kind(field, kind)
    if abs(mixture.period - process.period) > 1e-12:
        raise ValueError(f"mixture period {mixture.period} differs from the process period {process.period}")
    oracle.field, oracle.mixture, oracle.process = field, mixture, process
    oracle.prediction_kinds = {field: kind}


class WrappedGaussianOracle:
    """The exact denoiser of :class:`WrappedGaussian` for a :class:`WrappedNormalMixture` target.

    For a state (B, ...) at times t (B,) it returns the marginal score grad log p_t (kind ``"score"``) or
    -sigma(t) times it (kind ``"noise"``), in the state's dtype, 0 on padding.

    Args:
        field: the field's name.
        mixture: the target p1.
        process: the field's process (its sigma(t) and period; the mixture's period must match).
        kind: ``"score"`` or ``"noise"``.
    """

    def __init__(self, field: str, mixture: WrappedNormalMixture, process: WrappedGaussian, kind: str = "score"):
        _bind(self, field, mixture, process, kind)

    def __call__(
        self, state: Mapping[str, FieldState], condition: Any = None, drop_condition: Tensor | None = None
    ) -> dict[str, Tensor]:
        st = state[self.field]
        x = st.value
        sig = self.process.sigma(st.t.double()).reshape(-1, *([1] * (x.dim() - 1)))
        score = self.mixture.score(x, (sig * sig).expand(x.shape))
        out = score if self.prediction_kinds[self.field] == "score" else -sig * score
        return {self.field: apply_mask(out.to(x.dtype), st.mask)}


class TorusFlowOracle:
    """The exact marginal velocity of :class:`TorusFlowMatching` for a :class:`WrappedNormalMixture` target.

    For a state (B, ...) at times t (B,): with h = (1 - t) P / 2 and m(x) = E[u | arc of half-width h around x]
    (see :meth:`WrappedNormalMixture.arc_mean`), returns v = m / (1 - t) (kind ``"velocity"``; 1 - t clamped at
    1e-6) or the endpoint wrap(x + m) (kind ``"x1"``, which the process converts back to exactly v). 0 on padding.

    Args:
        field: the field's name.
        mixture: the target p1.
        process: the field's process (its period must match the mixture's).
        kind: ``"velocity"`` or ``"x1"``.
    """

    def __init__(
        self, field: str, mixture: WrappedNormalMixture, process: TorusFlowMatching, kind: str = "velocity"
    ):
        _bind(self, field, mixture, process, kind)

    def __call__(
        self, state: Mapping[str, FieldState], condition: Any = None, drop_condition: Tensor | None = None
    ) -> dict[str, Tensor]:
        st = state[self.field]
        x = st.value
        rem = (1.0 - st.t.double()).clamp_min(self.process.min_remaining).reshape(-1, *([1] * (x.dim() - 1)))
        m = self.mixture.arc_mean(x, (0.5 * self.process.period * rem).expand(x.shape))
        if self.prediction_kinds[self.field] == "velocity":
            out = m / rem
        else:
            out = wrap(x.double() + m, self.process.period)
        return {self.field: apply_mask(out.to(x.dtype), st.mask)}
