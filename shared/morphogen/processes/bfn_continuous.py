"""The Bayesian flow of continuous data (Graves et al. 2023, section 4), in Morphogen's time (t = 0 prior, t = 1 data,
which is also the paper's).

The receiver holds a Gaussian belief N(mu, 1/rho) about each entry of the data, starting from N(0, 1). A sender
sample y ~ N(x, 1/alpha) updates it by the conjugate rule ``mu <- (rho mu + alpha y) / (rho + alpha)``,
``rho <- rho + alpha``. After accumulating accuracy beta(t) = sigma1^(-2t) - 1 the mean has the *Bayesian flow
distribution* mu ~ N(gamma x, gamma (1 - gamma)), gamma = beta / (1 + beta) = 1 - sigma1^(2t), and the precision is
deterministic: rho(t) = sigma1^(-2t). The state therefore keeps only mu; rho is recomputed from t (nothing in
``extra``), so fixed fields and guidance need no extra bookkeeping.
"""
from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import Tensor

from morphogen.processes.base import (
    Corrupted,
    FieldState,
    Process,
    ProcessError,
    apply_mask,
    expand_like,
    masked_mean,
)
from morphogen.schedules.bfn import ContinuousAccuracy

CONTINUOUS_BFN_KINDS = frozenset({"x1", "noise"})


class ContinuousBFN(Process):
    """Bayesian flow of a real-valued field.

    State: ``value`` (B, ...) the belief's mean mu; ``t`` (B,); the precision is rho(t) = sigma1^(-2t).
    Predictions (B, ...): ``"x1"`` the data estimate x_hat, or ``"noise"`` eps_hat with
    x_hat = mu / gamma - sqrt((1 - gamma) / gamma) eps_hat (the paper's parameterisation; x_hat = 0 for t < t_min).
    Loss: the continuous-time loss -ln(sigma1) sigma1^(-2t) ||x - x_hat||^2, as a masked mean over the entries of
    each sample (B,).
    Reverse step (receiver update) from t to t_next: alpha = rho(t_next) - rho(t), y ~ N(x_hat, 1/alpha),
    mu <- (rho mu + alpha y) / (rho + alpha). On the grid t_i = i/n, alpha_i = sigma1^(-2i/n) (1 - sigma1^(2/n)).

    Args:
        sigma1: standard deviation of the belief at t = 1.
        t_min: below this time a ``"noise"`` prediction gives x_hat = 0 (gamma is ~0 there).
        x_range: optional (low, high) to which x_hat is clipped (the paper clips to the data range).
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"bayesian_flow"})
    prediction_kinds: ClassVar[frozenset[str]] = CONTINUOUS_BFN_KINDS

    def __init__(self, sigma1: float = 0.001, t_min: float = 1e-6, x_range: tuple[float, float] | None = None):
        self.schedule = ContinuousAccuracy(sigma1)
        self.sigma1 = float(sigma1)
        self.t_min = float(t_min)
        if x_range is not None and not x_range[0] < x_range[1]:
            raise ValueError(f"x_range must be (low, high) with low < high, got {x_range}")
        self.x_range = None if x_range is None else (float(x_range[0]), float(x_range[1]))

    # -- helpers ------------------------------------------------------------------------------------------------
    def gamma(self, t: Tensor, like: Tensor) -> Tensor:
        """gamma(t) shaped (B, 1, ..., 1) against ``like`` (B, ...)."""
        return expand_like(self.schedule.gamma(t.to(like.dtype)), like)

    def rho(self, t: Tensor, like: Tensor) -> Tensor:
        """Precision rho(t) = sigma1^(-2t) shaped (B, 1, ..., 1) against ``like``."""
        return expand_like(self.schedule.rho(t.to(like.dtype)), like)

    def to_x1(self, state: FieldState, prediction: Tensor, kind: str) -> Tensor:
        """x_hat (B, ...) from a prediction of ``kind``."""
        if kind == "x1":
            x = prediction
        elif kind == "noise":
            mu = state.value
            g = self.gamma(state.t, mu)
            safe = g.clamp_min(torch.finfo(mu.dtype).tiny)
            x = mu / safe - torch.sqrt((1.0 - g) / safe) * prediction
            x = torch.where(expand_like(state.t, mu) < self.t_min, torch.zeros_like(x), x)
        else:
            raise ProcessError(f"ContinuousBFN cannot use a '{kind}' prediction; it accepts {sorted(self.prediction_kinds)}")
        if self.x_range is not None:
            x = x.clamp(*self.x_range)
        return x

    @staticmethod
    def update(mu: Tensor, rho: Tensor, y: Tensor, alpha: Tensor) -> tuple[Tensor, Tensor]:
        """Conjugate Gaussian update of the belief N(mu, 1/rho) by one observation y ~ N(x, 1/alpha).

        Returns (mu', rho') = ((rho mu + alpha y) / (rho + alpha), rho + alpha); all arguments broadcast.
        """
        rho_new = rho + alpha
        return (rho * mu + alpha * y) / rho_new, rho_new

    # -- Process API --------------------------------------------------------------------------------------------
    def check_data(self, name: str, x1: Tensor, mask: Tensor | None = None) -> None:
        super().check_data(name, x1, mask)
        if not x1.is_floating_point():
            raise ProcessError(f"field '{name}': the continuous Bayesian flow needs a floating tensor, got {x1.dtype}")

    def corrupt(self, x1, t, mask=None, generator=None) -> Corrupted:
        """mu ~ N(gamma x, gamma (1 - gamma)); ``aux["noise"]`` is the standard normal draw."""
        eps = torch.randn(x1.shape, device=x1.device, dtype=x1.dtype, generator=generator)
        g = self.gamma(t, x1)
        mu = apply_mask(g * x1 + torch.sqrt(g * (1.0 - g)) * eps, mask)
        return Corrupted(FieldState(mu, t, mask), x1=x1, aux={"noise": apply_mask(eps, mask)})

    def prior(self, shape, mask=None, device=None, dtype=torch.float32, generator=None) -> FieldState:
        """mu = 0 at t = 0 (the belief N(0, 1))."""
        return FieldState(torch.zeros(shape, device=device, dtype=dtype), torch.zeros(shape[0], device=device, dtype=dtype), mask)

    def loss(self, prediction, kind, corrupted) -> Tensor:
        state = corrupted.state
        x_hat = self.to_x1(state, prediction, kind)
        weight = -math.log(self.sigma1) * self.rho(state.t, x_hat)
        return masked_mean(weight * (corrupted.x1 - x_hat) ** 2, state.mask)

    def reverse_step(self, state, prediction, kind, t_next, generator=None) -> FieldState:
        """One receiver update from ``state.t`` to ``t_next`` with y ~ N(x_hat, 1/alpha)."""
        mu = state.value
        x_hat = self.to_x1(state, prediction, kind)
        rho = self.rho(state.t, mu)
        alpha = (self.rho(t_next, mu) - rho).clamp_min(0.0)
        z = torch.randn(mu.shape, device=mu.device, dtype=mu.dtype, generator=generator)
        y = x_hat + z / torch.sqrt(alpha.clamp_min(torch.finfo(mu.dtype).tiny))
        y = torch.where(alpha > 0, y, x_hat)
        mu_new, _ = self.update(mu, rho, y, alpha)
        return state.with_value(apply_mask(mu_new, state.mask), t=t_next)

    def estimate_x1(self, state, prediction, kind) -> Tensor:
        return apply_mask(self.to_x1(state, prediction, kind), state.mask)

    def clean_state(self, x1, t, mask=None) -> FieldState:
        """The belief mean equal to the data (what a receiver would hold with infinite accuracy)."""
        return FieldState(apply_mask(x1, mask), t, mask)
