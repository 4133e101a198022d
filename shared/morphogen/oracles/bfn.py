"""Closed-form denoisers of Bayesian flows: the exact posterior of the data given the receiver's belief.

A Bayesian flow's belief is a sufficient statistic of all sender samples received so far, so the posterior of the
data x given the state is the target density times the likelihood of those samples:

continuous   mu / gamma ~ N(x, (1 - gamma) / gamma), i.e. a Gaussian likelihood of precision beta = gamma / (1 -
             gamma) centred at mu / gamma (precision-weighted: beta mu / gamma = rho mu). A Gaussian mixture target
             gives a Gaussian mixture posterior.
categorical  the likelihood of y ~ N(beta (K e_x - 1), beta K I) as a function of x is proportional to exp(y_x),
             and theta = softmax(y), so p(x | theta) is proportional to p(x) theta_x: posterior logits
             log p(x) + log theta (for any prior over classes, per position).
periodic     the likelihood of samples y_j ~ vM(x, alpha_j) is prod_j exp(alpha_j cos(y_j - x)) = exp(c cos(x - m)),
             so a von Mises mixture target sum_k w_k vM(mu_k, kappa_k) gives the mixture with components
             kappa'_k e^{i mu'_k} = kappa_k e^{i mu_k} + c e^{i m} and weights w_k I0(kappa'_k) / I0(kappa_k).

Point predictions. The BFN receiver sends y ~ N(x_hat, 1/alpha) or vM(x_hat, alpha) from a *point* estimate. With
``mode="sample"`` the oracle returns a draw from the posterior instead of its mean; then the receiver's y has
exactly the law of the next sender sample given the belief (the mixture of senders over the posterior), so the
sampler's beliefs follow the true flow and the last draw is an exact sample of the target, for any number of steps.
With ``mode="mean"`` (what a network trained with the BFN losses learns: the posterior mean, or for angles the
posterior mean direction) the sampler is exact only as the steps shrink. Categorical predictions are the whole
posterior, so that oracle is exact as it is.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import Tensor

from morphogen.processes.base import FieldState
from morphogen.processes.bfn_continuous import ContinuousBFN
from morphogen.processes.bfn_periodic import PeriodicBFN, sample_von_mises
from morphogen.schedules.bfn import bessel_ratio, log_i0

MODES = ("mean", "sample")


def _gumbel_pick(logw: Tensor, generator: torch.Generator | None) -> Tensor:
    """One index per row of ``logw`` (..., C), drawn with probabilities softmax(logw)."""
    u = torch.rand(logw.shape, dtype=torch.float64, device=logw.device, generator=generator)
    return (logw.double() - torch.log(-torch.log(u.clamp(1e-300, 1.0 - 1e-16)))).argmax(dim=-1)


class BFNGaussianMixtureOracle:
    """Exact denoiser of ``ContinuousBFN`` for a Gaussian mixture with diagonal covariances, one field (B, D).

    Args:
        field: the field's name.
        process: the field's continuous Bayesian flow (its schedule gives beta(t)).
        weights: (C,) mixture weights (normalised here).
        means: (C, D) component means.
        stds: (C,) or (C, D) component standard deviations.
        kind: prediction kind to emit, ``"x1"`` or ``"noise"``.
        mode: ``"mean"`` (posterior mean) or ``"sample"`` (a posterior draw; see the module docstring).
        generator: random source of ``mode="sample"``.
    """

    def __init__(
        self,
        field: str,
        process: ContinuousBFN,
        weights: Tensor,
        means: Tensor,
        stds: Tensor,
        kind: str = "x1",
        mode: str = "mean",
        generator: torch.Generator | None = None,
    ):
        process.check_prediction_kind(field, kind)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got '{mode}'")
        self.field, self.process, self.mode, self.generator = field, process, mode, generator
        w = torch.as_tensor(weights, dtype=torch.float64)
        self.log_weights = torch.log(w / w.sum())
        self.means = torch.as_tensor(means, dtype=torch.float64)
        if self.means.dim() != 2 or self.means.shape[0] != w.shape[0]:
            raise ValueError(f"means must be (C, D) with C = {w.shape[0]}, got {tuple(self.means.shape)}")
        s = torch.as_tensor(stds, dtype=torch.float64)
        self.vars = (s[:, None] if s.dim() == 1 else s).expand_as(self.means) ** 2
        self.prediction_kinds = {field: kind}

    def posterior(self, mu: Tensor, t: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Component log-responsibilities (B, C), means (B, C, D) and variances (B, C, D) of p(x | mu, t)."""
        sched = self.process.schedule
        t64 = t.double()
        beta = sched.beta(t64).clamp_min(1e-12)[:, None, None]
        rho = sched.rho(t64)[:, None, None]
        obs = rho * mu.double()[:, None, :]  # beta * (mu / gamma)
        one = 1.0 + beta * self.vars[None]
        logr = self.log_weights[None] + (
            -0.5 * torch.log(one) - (obs - beta * self.means[None]) ** 2 / (2.0 * beta * one)
        ).sum(-1)
        logr = torch.log_softmax(logr, dim=-1)
        prec = 1.0 / self.vars[None] + beta
        mean = (self.means[None] / self.vars[None] + obs) / prec
        return logr, mean, 1.0 / prec

    def __call__(self, state: Mapping[str, FieldState], condition: Any = None, drop_condition: Tensor | None = None):
        st = state[self.field]
        logr, mean, var = self.posterior(st.value, st.t)
        if self.mode == "mean":
            x = (logr.exp()[..., None] * mean).sum(1)
        else:
            c = _gumbel_pick(logr, self.generator)
            pick = torch.arange(mean.shape[0], device=mean.device)
            z = torch.randn(mean.shape[0], mean.shape[2], dtype=torch.float64, device=mean.device, generator=self.generator)
            x = mean[pick, c] + torch.sqrt(var[pick, c]) * z
        if self.prediction_kinds[self.field] == "x1":
            return {self.field: x.to(st.value.dtype)}
        g = self.process.schedule.gamma(st.t.double())[:, None]
        eps = (st.value.double() - g * x) / torch.sqrt((g * (1.0 - g)).clamp_min(1e-300))
        return {self.field: torch.where(g > 0, eps, torch.zeros_like(eps)).to(st.value.dtype)}


class BFNCategoricalOracle:
    """Exact denoiser of ``DiscreteBFN`` for a product of categoricals: logits = log p(x) + log theta.

    Args:
        field: the field's name.
        probs: (K,) the same categorical at every position, or (..., K) per position, broadcastable against the
            belief (B, ..., K) (e.g. (N, K) for a field (B, N)).
    """

    def __init__(self, field: str, probs: Tensor):
        p = torch.as_tensor(probs, dtype=torch.float64)
        self.field = field
        self.log_probs = torch.log(p / p.sum(-1, keepdim=True))
        self.prediction_kinds = {field: "logits"}

    def __call__(self, state: Mapping[str, FieldState], condition: Any = None, drop_condition: Tensor | None = None):
        theta = state[self.field].value
        logits = self.log_probs.to(theta.device) + torch.log(theta.double().clamp_min(1e-300))
        return {self.field: logits.to(theta.dtype)}


class BFNVonMisesMixtureOracle:
    """Exact denoiser of ``PeriodicBFN`` for a von Mises mixture, the same at every entry of the field (B, ...).

    Args:
        field: the field's name.
        process: the field's periodic Bayesian flow (its ``period`` gives the units).
        weights: (C,) mixture weights (normalised here).
        locs: (C,) component means in data units.
        kappas: (C,) component concentrations in radians^-2 (0 = uniform component).
        mode: ``"sample"`` (a posterior draw; default, exact sampler) or ``"mean"`` (posterior mean direction).
        generator: random source of ``mode="sample"``.
    """

    def __init__(
        self,
        field: str,
        process: PeriodicBFN,
        weights: Tensor,
        locs: Tensor,
        kappas: Tensor,
        mode: str = "sample",
        generator: torch.Generator | None = None,
    ):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got '{mode}'")
        self.field, self.process, self.mode, self.generator = field, process, mode, generator
        w = torch.as_tensor(weights, dtype=torch.float64)
        self.log_weights = torch.log(w / w.sum())
        self.locs = process.to_angle(torch.as_tensor(locs, dtype=torch.float64))
        self.kappas = torch.as_tensor(kappas, dtype=torch.float64)
        self.prediction_kinds = {field: "x1"}

    def posterior(self, m: Tensor, c: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Log-weights, means (radians) and concentrations (each (..., C)) of p(x | belief vM(m, c)), m in radians."""
        re = self.kappas * torch.cos(self.locs) + c[..., None] * torch.cos(m)[..., None]
        im = self.kappas * torch.sin(self.locs) + c[..., None] * torch.sin(m)[..., None]
        kappa_post = torch.hypot(re, im)
        logw = self.log_weights + log_i0(kappa_post) - log_i0(self.kappas)
        return torch.log_softmax(logw, dim=-1), torch.atan2(im, re), kappa_post

    def __call__(self, state: Mapping[str, FieldState], condition: Any = None, drop_condition: Tensor | None = None):
        st = state[self.field]
        m = self.process.to_angle(st.value.double())
        c = st.extra["kappa"].double()
        logw, loc, kap = self.posterior(m, c)
        if self.mode == "sample":
            k = _gumbel_pick(logw, self.generator)
            x = sample_von_mises(loc.gather(-1, k[..., None])[..., 0], kap.gather(-1, k[..., None])[..., 0], self.generator)
        else:
            r = logw.exp() * bessel_ratio(kap)
            x = torch.atan2((r * torch.sin(loc)).sum(-1), (r * torch.cos(loc)).sum(-1))
        return {self.field: self.process.from_angle(x).to(st.value.dtype)}


class JointOracle:
    """Several single-field oracles as one denoiser (the union of their fields)."""

    def __init__(self, *oracles: Any):
        self.oracles = list(oracles)
        self.prediction_kinds: dict[str, str] = {}
        for o in self.oracles:
            self.prediction_kinds.update(o.prediction_kinds)

    def __call__(self, state: Mapping[str, FieldState], condition: Any = None, drop_condition: Tensor | None = None):
        out: dict[str, Tensor] = {}
        for o in self.oracles:
            out.update(o(state, condition, drop_condition))
        return out
