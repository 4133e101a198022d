"""Euler-Maruyama integration of the reverse-time SDE of a Gaussian process.

With increasing t: ``dx = [v + g2/2 * score] dt + sqrt(g2) dW`` (v the probability-flow velocity, g2 the
process's ``diffusion_sq``). The last step jumps to the predicted data (the usual final denoising step, taken at
the last evaluated time so that NFE = steps).
"""
from __future__ import annotations

from typing import ClassVar

import torch

from morphogen.processes.base import apply_mask, expand_like
from morphogen.samplers.base import Sampler


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

    def _step(self, ctx, state, pred, t_next):
        return {k: sde_step(ctx.joint[k], s, pred[k], ctx.kinds[k], self._t(s, t_next), ctx.generator)
                for k, s in state.items()}
