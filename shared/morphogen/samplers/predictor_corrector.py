"""Predictor-corrector sampling (Song et al. 2021): Langevin corrector steps at each noise level, then a predictor.

Langevin corrector at time t with signal-to-noise ratio ``snr``: step = 2 (snr mean||z|| / mean||score||)^2 (norms averaged over the batch),
``x <- x + step * score + sqrt(2 step) * scale_eps * z`` (``scale_eps`` < 1 shrinks the corrector noise, as GDSS does
with 0.7). Network evaluations: steps * (1 + corrector_steps) (the last step's corrector runs too; the predictor of
the last step is the jump to the data), twice that with classifier-free guidance.
"""
from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from morphogen.processes.base import apply_mask
from morphogen.samplers.base import Sampler
from morphogen.samplers.euler_maruyama import sde_step

PREDICTORS = ("euler_maruyama", "ancestral", "reverse_diffusion", "none")


def langevin_step_size(score: Tensor, noise: Tensor, snr: float) -> Tensor:
    """2 (snr mean||noise|| / mean||score||)^2 (scalar): each norm over all but the batch dimension, averaged over
    the batch as in Song et al. (a per-sample ratio explodes where the score vanishes). score, noise (B, ...)."""
    b = noise.shape[0]
    gn = score.reshape(b, -1).norm(dim=1).mean()
    zn = noise.reshape(b, -1).norm(dim=1).mean()
    return 2.0 * (snr * zn / gn.clamp_min(1e-12)) ** 2


def reverse_diffusion_step(process, st, pred, kind, t_next, generator):
    """Song et al.'s reverse-diffusion predictor (GDSS's ``Reverse``) for one Gaussian field, from ``st.t`` to
    ``t_next`` (B,): with the forward transition x_t = r x_next + G z (r = alpha_t / alpha_next,
    G^2 = sigma_t^2 - r^2 sigma_next^2, the process's own marginals; for VE r = 1 and G^2 = sigma_t^2 -
    sigma_next^2, exactly Song's discretisation), the step is x <- (2 - r) x + G^2 score + G z, i.e. the forward
    drift (r - 1) x undone and G^2 times the score added. Not the exact posterior of ``reverse_step`` (x / r in
    place of (2 - r) x), but equal to first order in the step."""
    x = st.value
    score = process.convert(x, st.t, pred, kind, "score")
    r, g2 = process.transition(st.t, t_next, x)
    z = process.sample_noise(tuple(x.shape), st.mask, x.device, x.dtype, generator)
    x_new = (2.0 - r) * x + g2 * score + torch.sqrt(g2) * z
    return st.with_value(apply_mask(process.project(x_new), st.mask), t=t_next)


def langevin_step(process, st, pred, kind, snr: float, generator, scale_eps: float = 1.0):
    """One Langevin corrector step of a Gaussian field at its current time."""
    x = st.value
    score = process.convert(x, st.t, pred, kind, "score")
    z = process.sample_noise(tuple(x.shape), st.mask, x.device, x.dtype, generator)
    step = langevin_step_size(score, z, snr)
    return st.with_value(apply_mask(process.project(x + step * score + torch.sqrt(2.0 * step) * scale_eps * z),
                                    st.mask))


class PredictorCorrector(Sampler):
    """Args: steps, grid; predictor ("ancestral": the process's exact reverse step, for Gaussian processes the DDPM
    posterior, which is Song et al.'s *ancestral-sampling* predictor; "reverse_diffusion": their reverse-diffusion
    predictor, GDSS's ``Reverse`` (its grid configuration), see :func:`reverse_diffusion_step`; "euler_maruyama",
    GDSS's ``Euler``; or "none" for annealed Langevin);
    corrector_steps per time; snr of the Langevin corrector; scale_eps: factor on its noise (1 = Langevin dynamics;
    GDSS samples with 0.7)."""

    name: ClassVar[str] = "pc"
    requires: ClassVar[frozenset[str]] = frozenset({"ancestral", "langevin"})  # of the default predictor

    def __init__(
        self,
        steps: int = 100,
        grid: str = "uniform",
        predictor: str = "ancestral",
        corrector_steps: int = 1,
        snr: float = 0.16,
        scale_eps: float = 1.0,
    ):
        super().__init__(steps, grid)
        if scale_eps < 0:
            raise ValueError(f"scale_eps must be >= 0, got {scale_eps}")
        self.scale_eps = float(scale_eps)
        if predictor not in PREDICTORS:
            raise ValueError(f"predictor must be one of {PREDICTORS}, got '{predictor}'")
        if corrector_steps < 0:
            raise ValueError("corrector_steps must be >= 0")
        self.predictor, self.corrector_steps, self.snr = predictor, int(corrector_steps), float(snr)

    def expected_nfe(self, guided: bool = False) -> int:
        return self.steps * (1 + self.corrector_steps) * (2 if guided else 1)

    def requirements(self) -> frozenset[str]:
        need = {"langevin"} if self.corrector_steps > 0 else set()
        if self.predictor in ("euler_maruyama", "reverse_diffusion"):
            need.add("gaussian")
        elif self.predictor == "ancestral":
            need.add("ancestral")
        return frozenset(need)

    def _before_predict(self, ctx, state):
        for _ in range(self.corrector_steps):
            pred = ctx.predict(state)
            state = {k: langevin_step(ctx.joint[k], s, pred[k], ctx.kinds[k], self.snr, ctx.generator, self.scale_eps)
                     for k, s in state.items()}
            state = ctx.apply_fixed(state)
        return state

    def _step(self, ctx, state, pred, t_next):
        new = {}
        for k, s in state.items():
            tn = self._t(s, t_next)
            if self.predictor == "euler_maruyama":
                new[k] = sde_step(ctx.joint[k], s, pred[k], ctx.kinds[k], tn, ctx.generator)
            elif self.predictor == "reverse_diffusion":
                new[k] = reverse_diffusion_step(ctx.joint[k], s, pred[k], ctx.kinds[k], tn, ctx.generator)
            elif self.predictor == "ancestral":
                new[k] = ctx.joint[k].reverse_step(s, pred[k], ctx.kinds[k], tn, ctx.generator)
            else:
                new[k] = s.with_value(s.value, t=tn)
        return new


class AnnealedLangevin(PredictorCorrector):
    """Corrector-only sampling (annealed Langevin dynamics over the time grid)."""

    name: ClassVar[str] = "langevin"
    requires: ClassVar[frozenset[str]] = frozenset({"langevin"})

    def __init__(self, steps: int = 200, grid: str = "uniform", corrector_steps: int = 1, snr: float = 0.3):
        super().__init__(steps, grid, predictor="none", corrector_steps=corrector_steps, snr=snr)
