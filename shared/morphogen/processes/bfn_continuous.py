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
    check_estimate,
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
    Loss, as a masked mean over the entries of each sample (B,):
      continuous time (``steps=None``): -ln(sigma1) sigma1^(-2t) ||x - x_hat||^2 (the paper's L^inf);
      discrete time (``steps=n``): the n-step loss L^n, whose term at t = (i - 1)/n is n times the KL of the next
      sender N(x, 1/alpha_i) from the receiver N(x_hat, 1/alpha_i): (n / 2) alpha_i ||x - x_hat||^2 with
      alpha_i = rho(i/n) - rho((i - 1)/n) = sigma1^(-2i/n) (1 - sigma1^(2/n)) (Graves et al., section 4; CrysBFN's
      lattice loss). Off the grid the next step is read as t -> min(t + 1/n, 1). Training times are then drawn
      from {0, 1/n, ..., (n - 1)/n} (``training_steps``); as n grows L^n tends to L^inf.
    Reverse step (receiver update) from t to t_next: alpha = rho(t_next) - rho(t), y ~ N(x_hat, 1/alpha),
    mu <- (rho mu + alpha y) / (rho + alpha). On the grid t_i = i/n, alpha_i = sigma1^(-2i/n) (1 - sigma1^(2/n)).
    End-back step (``resample``): mu drawn afresh from the flow distribution N(gamma x_hat, gamma (1 - gamma)) at
    the next time, i.e. ``corrupt`` with x_hat in place of the data.

    Args:
        sigma1: standard deviation of the belief at t = 1.
        t_min: below this time a ``"noise"`` prediction gives x_hat = 0 (gamma is ~0 there).
        x_range: optional (low, high) to which x_hat is clipped (the paper clips to the data range).
        steps: None for continuous-time training, or n: train in discrete time with n steps (sample with the same
            n on the uniform grid).
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"bayesian_flow", "end_back"})
    prediction_kinds: ClassVar[frozenset[str]] = CONTINUOUS_BFN_KINDS

    def __init__(self, sigma1: float = 0.001, t_min: float = 1e-6, x_range: tuple[float, float] | None = None,
                 steps: int | None = None):
        self.schedule = ContinuousAccuracy(sigma1)
        self.sigma1 = float(sigma1)
        self.t_min = float(t_min)
        if x_range is not None and not x_range[0] < x_range[1]:
            raise ValueError(f"x_range must be (low, high) with low < high, got {x_range}")
        self.x_range = None if x_range is None else (float(x_range[0]), float(x_range[1]))
        if steps is not None and int(steps) < 1:
            raise ValueError(f"steps must be None (continuous time) or >= 1, got {steps}")
        self.steps = None if steps is None else int(steps)

    @property
    def training_steps(self) -> int | None:
        return self.steps

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

    def loss_weight(self, t: Tensor, like: Tensor) -> Tensor:
        """The weight of ||x - x_hat||^2 at time t, shaped (B, 1, ..., 1) against ``like``: -ln(sigma1) rho(t) in
        continuous time, (n / 2) (rho(min(t + 1/n, 1)) - rho(t)) in discrete time (see the class docstring)."""
        if self.steps is None:
            return -math.log(self.sigma1) * self.rho(t, like)
        t_next = (t.to(like.dtype) + 1.0 / self.steps).clamp(max=1.0)
        return 0.5 * self.steps * (self.rho(t_next, like) - self.rho(t, like))

    def loss(self, prediction, kind, corrupted) -> Tensor:
        state = corrupted.state
        x_hat = self.to_x1(state, prediction, kind)
        weight = self.loss_weight(state.t, x_hat)
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

    def resample(self, state, prediction, kind, t, estimate: str = "mean", generator=None) -> FieldState:
        """End-back step: the belief at time ``t`` (B,) drawn afresh, mu ~ N(gamma(t) x_hat, gamma(t) (1 - gamma(t))),
        with x_hat read off the prediction. The output distribution of continuous data is the point x_hat, so
        ``estimate`` ("mean" or "sample") makes no difference here."""
        check_estimate(estimate)
        x_hat = self.to_x1(state, prediction, kind)
        return self.corrupt(x_hat, t, state.mask, generator).state

    def estimate_x1(self, state, prediction, kind) -> Tensor:
        return apply_mask(self.to_x1(state, prediction, kind), state.mask)

    def clean_state(self, x1, t, mask=None) -> FieldState:
        """The belief mean equal to the data (what a receiver would hold with infinite accuracy)."""
        return FieldState(apply_mask(x1, mask), t, mask)
