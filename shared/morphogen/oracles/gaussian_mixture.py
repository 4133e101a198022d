"""The closed-form denoiser of an isotropic Gaussian mixture under any Gaussian process.

Target: p(x1) = sum_k w_k N(mu_k, s_k^2 I) in D dimensions. With x_t = alpha x1 + sigma eps the marginal is
sum_k w_k N(alpha mu_k, (alpha^2 s_k^2 + sigma^2) I), and the posterior mean of the data is
E[x1 | x_t] = sum_k r_k(x_t) [mu_k + alpha s_k^2 / (alpha^2 s_k^2 + sigma^2) (x_t - alpha mu_k)],
r_k the component responsibilities. Any prediction kind follows from it (see ``GaussianProcess.convert``).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from morphogen.processes.base import expand_like
from morphogen.processes.gaussian import GaussianProcess


class GaussianMixture:
    """An isotropic Gaussian mixture: weights (K,), means (K, D), stds (K,)."""

    def __init__(self, weights: Tensor, means: Tensor, stds: Tensor):
        self.weights = torch.as_tensor(weights, dtype=torch.float64)
        self.weights = self.weights / self.weights.sum()
        self.means = torch.as_tensor(means, dtype=torch.float64)
        self.stds = torch.as_tensor(stds, dtype=torch.float64).expand(self.weights.shape[0]).clone()
        if self.means.dim() != 2 or self.means.shape[0] != self.weights.shape[0]:
            raise ValueError("means must be (K, D) with K = len(weights)")

    @property
    def dim(self) -> int:
        return int(self.means.shape[1])

    def sample(self, n: int, generator: torch.Generator | None = None, dtype=torch.float32) -> Tensor:
        """(n, D) draws."""
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        z = torch.randn(n, self.dim, dtype=torch.float64, generator=generator)
        return (self.means[k] + self.stds[k, None] * z).to(dtype)

    def posterior_mean(self, x: Tensor, alpha: Tensor, sigma: Tensor) -> Tensor:
        """E[x1 | x_t = x] for x (B, D) and alpha, sigma (B,)."""
        xd = x.to(torch.float64)
        a = alpha.to(torch.float64)[:, None, None]
        s = sigma.to(torch.float64)[:, None, None]
        var = a**2 * self.stds[None, :, None] ** 2 + s**2  # (B, K, 1)
        diff = xd[:, None, :] - a * self.means[None]  # (B, K, D)
        logp = (
            torch.log(self.weights)[None]
            - 0.5 * (diff**2).sum(-1) / var[..., 0]
            - 0.5 * self.dim * torch.log(2 * math.pi * var[..., 0])
        )
        r = torch.softmax(logp, dim=1)  # (B, K)
        comp = self.means[None] + a * self.stds[None, :, None] ** 2 / var * diff
        return (r[..., None] * comp).sum(1).to(x.dtype)


class GaussianMixtureOracle:
    """Denoiser protocol over one field of shape (B, D): the exact prediction of ``kind`` for ``mixture``.

    Args:
        field: name of the field.
        mixture: the target.
        process: the Gaussian process the samples are drawn with.
        kind: the prediction kind to emit ("x1", "noise", "score" or "velocity").
    """

    def __init__(self, field: str, mixture: GaussianMixture, process: GaussianProcess, kind: str = "x1"):
        process.check_prediction_kind(field, kind)
        self.field, self.mixture, self.process = field, mixture, process
        self.prediction_kinds = {field: kind}

    def _value(self, st) -> Tensor:
        """The state value the posterior is computed at (subclasses project it)."""
        return st.value

    def __call__(self, state, condition=None, drop_condition=None) -> dict[str, Tensor]:
        st = state[self.field]
        t = st.t.to(torch.float64)
        sched = self.process.schedule
        x = self._value(st)
        x1 = self.mixture.posterior_mean(x, sched.alpha(t), sched.sigma(t))
        kind = self.prediction_kinds[self.field]
        if kind == "x1":
            return {self.field: x1}
        a, s = expand_like(sched.alpha(t), x), expand_like(sched.sigma(t), x)
        eps = (x.double() - a * x1.double()) / s
        return {self.field: self.process.from_x1_noise(x1.double(), eps, t, kind).to(st.value.dtype)}
