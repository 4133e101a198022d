"""Sampling a Bayesian flow network: n receiver updates, then one last network evaluation (Graves et al. 2023,
the generation procedure of sections 4.4, 5.4 and 6.4; CrysBFN's sampler for the periodic flow).

For i = 1..n on the base class's grid (t_0 = 0 < t_1 < ... < t_n = 1; uniform by default, t_i = i/n): evaluate
the network on the belief at t_{i-1}, draw a receiver sample of the accuracy of the step t_{i-1} -> t_i and
update the belief (each field's process does this in ``reverse_step``). Then evaluate the network once more on the
belief at t = 1 and return each field's ``final_step`` (the estimate x_hat for continuous data, a class drawn from
the output distribution for categorical data, the wrapped estimate for periodic data). NFE = n + 1 network
evaluations (2 (n + 1) with classifier-free guidance); ``SampleResult.nfe`` counts them as made.
"""
from __future__ import annotations

from typing import ClassVar

import torch

from morphogen.samplers.base import SampleResult, Sampler


class BFNReceiver(Sampler):
    """Receiver-update sampler of Bayesian flows; fits any joint process whose fields all have ``"bayesian_flow"``
    (e.g. CrysBFN: lattice ``ContinuousBFN``, fractional coordinates ``PeriodicBFN``, atom types ``DiscreteBFN``).

    Fixed fields (``Inpaint``) are re-imposed after every update. The periodic flow is the trained one only when
    ``steps`` equals its process's ``steps`` on the uniform grid.

    Args:
        steps: number n of receiver updates (n + 1 network evaluations).
        grid: time grid of the base class (``"uniform"`` is the BFN grid t_i = i/n).
    """

    name: ClassVar[str] = "bfn"
    requires: ClassVar[frozenset[str]] = frozenset({"bayesian_flow"})

    def _run(self, ctx, state, grid, keep, progress):
        joint, kinds, gen = ctx.joint, ctx.kinds, ctx.generator
        n = len(grid) - 1
        traj = []
        for i in self._bar(n, progress, self.name):
            pred = ctx.predict(state)
            t_next = {k: torch.full_like(s.t, float(grid[i + 1])) for k, s in state.items()}
            state = {k: joint[k].reverse_step(s, pred[k], kinds[k], t_next[k], gen) for k, s in state.items()}
            state = ctx.apply_fixed(state)
            if keep:
                traj.append(self._snapshot(state))
        pred = ctx.predict(state)
        fields = {k: joint[k].final_step(s, pred[k], kinds[k], gen) for k, s in state.items()}
        return SampleResult(fields=fields, nfe=0, trajectory=traj)
