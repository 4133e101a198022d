"""Euler-Maruyama integration of the reverse-time SDE of a Gaussian process.

With increasing t: ``dx = [v + g2/2 * score] dt + sqrt(g2) dW`` (v the probability-flow velocity, g2 the
process's ``diffusion_sq``). The last step jumps to the predicted data (the usual final denoising step, taken at
the last evaluated time so that NFE = steps).
"""
from __future__ import annotations

from typing import ClassVar

import torch

from morphogen.processes.base import apply_mask, expand_like
from morphogen.samplers.base import SampleResult, Sampler


def sde_step(process, st, pred, kind, t_next, generator):
    """One Euler-Maruyama step of one Gaussian field from ``st.t`` to ``t_next`` (B,)."""
    x = st.value
    v, score = process.velocity_and_score(x, st.t, pred, kind)
    h = expand_like(t_next - st.t, x).to(x.dtype)
    g2 = expand_like(process.diffusion_sq(st.t.to(x.dtype)), x)
    z = process.sample_noise(tuple(x.shape), st.mask, x.device, x.dtype, generator)
    x_new = x + (v + 0.5 * g2 * score) * h + torch.sqrt(g2 * h) * z
    return st.with_value(apply_mask(x_new, st.mask), t=t_next)


class EulerMaruyama(Sampler):
    name: ClassVar[str] = "euler_maruyama"
    requires: ClassVar[frozenset[str]] = frozenset({"gaussian"})

    def _run(self, ctx, state, grid, keep, progress):
        joint, kinds, gen = ctx.joint, ctx.kinds, ctx.generator
        n = len(grid) - 1
        traj, fields = [], {}
        for i in self._bar(n, progress, self.name):
            pred = ctx.predict(state)
            if i == n - 1:
                fields = {k: joint[k].final_step(s, pred[k], kinds[k], gen) for k, s in state.items()}
                break
            state = {
                k: sde_step(joint[k], s, pred[k], kinds[k], torch.full_like(s.t, float(grid[i + 1])), gen)
                for k, s in state.items()
            }
            state = ctx.apply_fixed(state)
            if keep:
                traj.append(self._snapshot(state))
        return SampleResult(fields=fields, nfe=0, trajectory=traj)
