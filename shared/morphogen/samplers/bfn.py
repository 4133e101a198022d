"""Sampling a Bayesian flow network: n receiver updates, then one last network evaluation (Graves et al. 2023,
the generation procedure of sections 4.4, 5.4 and 6.4; CrysBFN's sampler for the periodic flow).

For i = 1..n on the base class's grid (t_0 = 0 < t_1 < ... < t_n = 1; uniform by default, t_i = i/n): evaluate
the network on the belief at t_{i-1}, draw a receiver sample of the accuracy of the step t_{i-1} -> t_i and
update the belief (each field's process does this in ``reverse_step``). Then evaluate the network once more on the
belief at t = 1 and return each field's ``final_step`` (the estimate x_hat for continuous data, a class drawn from
the output distribution for categorical data, the wrapped estimate for periodic data). NFE = n + 1 network
evaluations (2 (n + 1) with classifier-free guidance); ``SampleResult.nfe`` counts them as made.

CrysBFN samples differently by default: :class:`~morphogen.samplers.bfn_end_back.BFNEndBack` ("bfn_end_back")
draws each belief afresh from the flow distribution given the network's estimate instead of accumulating it.
"""
from __future__ import annotations

from typing import ClassVar

from morphogen.samplers.base import Sampler


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

    final_rule: ClassVar[str] = "evaluate"

    def _step(self, ctx, state, pred, t_next):
        return {k: ctx.joint[k].reverse_step(s, pred[k], ctx.kinds[k], self._t(s, t_next), ctx.generator)
                for k, s in state.items()}
