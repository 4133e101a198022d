"""Ancestral sampling: each field takes its process's exact reverse step given the denoiser's data prediction.

For Gaussian processes this is the DDPM posterior q(x_s | x_t, x1 = x1_hat) (the "reverse diffusion" of a VP
SDE); for masked diffusion it is ancestral unmasking (each masked token is revealed with probability
(alpha(s) - alpha(t)) / (1 - alpha(t)) and drawn from the predicted categorical); for uniform and Bernoulli
diffusion it is the exact categorical posterior; for the torus processes their own reverse step. One network
evaluation per step.
"""
from __future__ import annotations

from typing import ClassVar

from morphogen.samplers.base import Sampler


class Ancestral(Sampler):
    name: ClassVar[str] = "ancestral"
    requires: ClassVar[frozenset[str]] = frozenset({"ancestral"})

    def _step(self, ctx, state, pred, t_next):
        return {k: ctx.joint[k].reverse_step(s, pred[k], ctx.kinds[k], self._t(s, t_next), ctx.generator)
                for k, s in state.items()}
