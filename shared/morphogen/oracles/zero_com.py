"""The closed-form denoiser of a Gaussian mixture on the zero-centre-of-mass subspace of N points in D dimensions.

Target: p(x1) = sum_k w_k N(mu_k, s_k^2 P) with P the projector onto centred configurations and every mu_k
centred. In an orthonormal basis of the subspace this is an isotropic mixture in d = (N - 1) D dimensions, and a
centred x_t = alpha x1 + sigma P eps is alpha x1 plus isotropic noise there: the posterior mean is the isotropic
formula of :mod:`morphogen.oracles.gaussian_mixture` with that d, computed on the centred coordinates directly.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from morphogen.oracles.gaussian_mixture import GaussianMixtureOracle
from morphogen.processes.zero_com import ZeroCoMGaussian, center


class ZeroCoMGaussianMixture:
    """weights (K,), centred means (K, N, D), stds (K,)."""

    def __init__(self, weights: Tensor, means: Tensor, stds: Tensor):
        self.weights = torch.as_tensor(weights, dtype=torch.float64)
        self.weights = self.weights / self.weights.sum()
        self.means = center(torch.as_tensor(means, dtype=torch.float64))
        self.stds = torch.as_tensor(stds, dtype=torch.float64).expand(self.weights.shape[0]).clone()
        k, n, d = self.means.shape
        self.n, self.d, self.dim = n, d, (n - 1) * d

    def sample(self, n: int, generator: torch.Generator | None = None, dtype=torch.float32) -> Tensor:
        """(n, N, D) centred draws."""
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        z = center(torch.randn(n, self.n, self.d, dtype=torch.float64, generator=generator))
        return (self.means[k] + self.stds[k, None, None] * z).to(dtype)

    def posterior_mean(self, x: Tensor, alpha: Tensor, sigma: Tensor) -> Tensor:
        """E[x1 | x_t = x] for centred x (B, N, D), alpha and sigma (B,)."""
        xd = center(x.to(torch.float64))
        a = alpha.to(torch.float64)[:, None, None, None]
        s = sigma.to(torch.float64)[:, None, None, None]
        var = a**2 * self.stds[None, :, None, None] ** 2 + s**2  # (B, K, 1, 1)
        diff = xd[:, None] - a * self.means[None]  # (B, K, N, D)
        v = var[..., 0, 0]
        logp = torch.log(self.weights)[None] - 0.5 * (diff**2).sum((-1, -2)) / v - 0.5 * self.dim * torch.log(2 * math.pi * v)
        r = torch.softmax(logp, dim=1)
        comp = self.means[None] + a * self.stds[None, :, None, None] ** 2 / var * diff
        return (r[..., None, None] * comp).sum(1).to(x.dtype)


class ZeroCoMGaussianMixtureOracle(GaussianMixtureOracle):
    """Denoiser protocol over one (B, N, D) field: the exact prediction of ``kind`` under ``process``, computed at
    the centred state."""

    def __init__(self, field: str, mixture: ZeroCoMGaussianMixture, process: ZeroCoMGaussian, kind: str = "x1"):
        super().__init__(field, mixture, process, kind)

    def _value(self, st) -> Tensor:
        return center(st.value, st.mask)
