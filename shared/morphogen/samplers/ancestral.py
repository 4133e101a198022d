"""Ancestral sampling: each field takes its process's exact reverse step given the denoiser's data prediction.

For Gaussian processes this is the DDPM posterior q(x_s | x_t, x1 = x1_hat) (the "reverse diffusion" of a VP
SDE); for masked diffusion it is ancestral unmasking (each masked token is revealed with probability
(alpha(s) - alpha(t)) / (1 - alpha(t)) and drawn from the predicted categorical); for uniform and Bernoulli
diffusion it is the exact categorical posterior. One network evaluation per step.
"""
from __future__ import annotations

from typing import ClassVar

import torch

from morphogen.samplers.base import SampleResult, Sampler


class Ancestral(Sampler):
    name: ClassVar[str] = "ancestral"
    requires: ClassVar[frozenset[str]] = frozenset({"ancestral"})

    def _run(self, ctx, state, grid, keep, progress):
        joint, kinds, gen = ctx.joint, ctx.kinds, ctx.generator
        n = len(grid) - 1
        traj = []
        fields = {}
        for i in self._bar(n, progress, self.name):
            pred = ctx.predict(state)
            if i == n - 1:
                fields = {k: joint[k].final_step(state[k], pred[k], kinds[k], gen) for k in state}
                break
            t_next = {k: torch.full_like(s.t, float(grid[i + 1])) for k, s in state.items()}
            state = {k: joint[k].reverse_step(s, pred[k], kinds[k], t_next[k], gen) for k, s in state.items()}
            state = ctx.apply_fixed(state)
            if keep:
                traj.append(self._snapshot(state))
        return SampleResult(fields=fields, nfe=0, trajectory=traj)
