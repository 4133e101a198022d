"""Gaussian diffusion of point coordinates in the zero-centre-of-mass subspace (EDM, Hoogeboom et al. 2022; the
coordinates of DiffSpectra's molecules).

A field of N points in D dimensions, (B, N, D), whose centre of mass is zero: sum_n x_n = 0 over the real points.
Translations are not modelled: the data are centred, and every noise draw -- the forward noise, the prior, the
noise of every reverse step and of the SDE samplers -- is a standard normal projected onto that subspace
(``P z``: the mean over real points subtracted), so every state stays centred. A rotation-equivariant denoiser
then gives a rotation-invariant model of centred geometries. The subspace has (N - 1) D dimensions, which is what
likelihoods count (:meth:`ZeroCoMGaussian.subspace_dim`).

Padding: ``mask`` (B, N, 1) or (B, N, D), 1 for real points; padded points are never noised, sampled or counted
in the centre of mass. The ancestral step and the data estimate are re-centred (a denoiser whose x1 carries a small
drift of its mean cannot move the state off the subspace); the ODE / SDE samplers integrate the denoiser's drift as
it is given, so they stay in the subspace for a translation-equivariant denoiser with centred outputs (EGNN-style
networks are), and their final estimate is centred either way.
"""
from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from morphogen.processes.base import ProcessError, apply_mask
from morphogen.processes.gaussian import GaussianProcess
from morphogen.schedules.gaussian import GaussianSchedule


def center(x: Tensor, mask: Tensor | None = None) -> Tensor:
    """``x`` (B, N, D) minus its mean over the real points of each sample (per coordinate), padding kept at 0."""
    if mask is None:
        return x - x.mean(dim=1, keepdim=True)
    m = torch.broadcast_to(mask.to(x.dtype), x.shape)
    mean = (x * m).sum(dim=1, keepdim=True) / m.sum(dim=1, keepdim=True).clamp_min(1.0)
    return (x - mean) * m


class ZeroCoMGaussian(GaussianProcess):
    """Gaussian noise on (B, N, D) coordinates, kept in the zero-centre-of-mass subspace.

    Args:
        schedule: alpha(t), sigma(t) (e.g. ``VPCosine``).
        loss_kind: as :class:`GaussianProcess` (``"native"``, ``"noise"``, ``"x1"``, ...).
        sde_noise: as :class:`GaussianProcess`.
        tolerance: data whose centre of mass is further than this from 0 (per sample, largest coordinate) are
            refused naming the field; centre them first (:func:`center`).
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"ancestral", "gaussian", "langevin", "renoise"})

    def __init__(self, schedule: GaussianSchedule, loss_kind: str = "native", sde_noise: float = 1.0,
                 tolerance: float = 1e-4):
        super().__init__(schedule, loss_kind=loss_kind, sde_noise=sde_noise)
        self.tolerance = float(tolerance)

    center = staticmethod(center)

    @staticmethod
    def subspace_dim(mask: Tensor | None, shape: tuple[int, ...]) -> Tensor:
        """(B,) the dimension (N_real - 1) D of each sample's subspace."""
        b, n, d = shape
        if mask is None:
            return torch.full((b,), float((n - 1) * d))
        m = torch.broadcast_to(mask.float(), shape)
        return (m.sum(dim=1) - 1).clamp_min(0).sum(dim=-1)

    def _check_shape(self, name: str, shape) -> None:
        if len(shape) != 3:
            raise ProcessError(f"field '{name}': ZeroCoMGaussian needs coordinates (B, N, D), got shape {tuple(shape)}")

    def check_data(self, name: str, x1: Tensor, mask: Tensor | None = None) -> None:
        super().check_data(name, x1, mask)
        self._check_shape(name, x1.shape)
        m = torch.ones_like(x1) if mask is None else torch.broadcast_to(mask.to(x1.dtype), x1.shape)
        com = (x1 * m).sum(dim=1) / m.sum(dim=1).clamp_min(1.0)
        worst = com.abs().amax(dim=-1)
        bad = (worst > self.tolerance).nonzero().flatten().tolist()
        if bad:
            raise ProcessError(f"field '{name}': coordinates must have zero centre of mass; batch rows {bad[:10]} are "
                               f"off by up to {float(worst.max()):.3g} (centre them with "
                               f"morphogen.processes.zero_com.center)")

    def sample_noise(self, shape, mask, device, dtype, generator=None) -> Tensor:
        self._check_shape("noise", shape)
        z = torch.randn(tuple(shape), device=device, dtype=dtype, generator=generator)
        return center(apply_mask(z, mask), mask)

    def estimate_x1(self, state, prediction, kind) -> Tensor:
        return center(self.to_x1_noise(state.value, state.t, prediction, kind)[0], state.mask)

    def reverse_step(self, state, prediction, kind, t_next, generator=None):
        nxt = super().reverse_step(state, prediction, kind, t_next, generator)
        return nxt.with_value(center(nxt.value, state.mask))
