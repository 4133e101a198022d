"""End-back sampling of Bayesian flow networks: CrysBFN's default sampler (Wu et al., ICLR 2025; MolCRAFT's
"end_back" strategy, Qu et al. 2024).

The receiver sampler (:class:`~morphogen.samplers.bfn.BFNReceiver`, "bfn") accumulates one sender sample per step
into the belief. End-back sampling keeps nothing of the belief but the network's output: at each step it draws
the belief at the next time afresh from the Bayesian flow distribution p_F(theta | x_hat; t_{i+1}), the
distribution training draws it from, with the network's data estimate x_hat in place of the data (each field's
process does this in ``resample``):

    continuous   mu ~ N(gamma x_hat, gamma (1 - gamma)),  gamma = 1 - sigma1^(2 t)
    categorical  theta = softmax(y), y ~ N(beta (K e - 1), beta K I), beta = beta1 t^2, e = p_hat (the expectation
                 of the output distribution, CrysBFN's choice; ``estimate="mean"``) or e = e_k, k ~ p_hat
                 (``estimate="sample"``)
    periodic     floor(t n) sender samples y_j ~ vM(x_hat, alpha_j) of the training table, accumulated:
                 c e^{i m} = sum_j alpha_j e^{i y_j} (the concentration is random, as in training)

The time loop on the base class's grid t_0 = 0 < ... < t_n = 1 (uniform: t_i = i/n), with ``final="jump"``
(CrysBFN's loop; the default): evaluate the network at t_0, ..., t_{n-1} (the times of the n-step discrete-time
training grid), resampling the belief at t_1, ..., t_{n-1} in between, and return each field's ``final_step`` of
the last evaluation (x_hat at t_{n-1}; a class drawn from p_hat). NFE = n. With ``final="evaluate"`` the belief is
also resampled at t_n = 1 and the network evaluated once more there (the receiver sampler's ending): NFE = n + 1;
a network trained in discrete time has never seen t = 1.

What it samples. With a network that outputs a posterior *draw* of the data (``mode="sample"`` oracles) every
x_hat is an exact draw of the target and so is the output, at any n. With the posterior *mean* (what the BFN losses
teach a network) it is not an exact sampler at any n: x_hat is less spread than the data and the flow adds back
only the flow's own noise, so the samples are concentrated (for a standard normal target and the continuous flow
the variance tends to about 1/2 as n grows). That sharpening is what it is used for in CrysBFN (one answer per
composition); ``tests/core/test_bfn_end_back.py`` checks the law it does sample against a quadrature of its own
Markov chain.
"""
from __future__ import annotations

from typing import ClassVar

from morphogen.processes.base import BFN_ESTIMATES
from morphogen.samplers.base import Sampler

FINAL_RULES = ("jump", "evaluate")


class BFNEndBack(Sampler):
    """End-back sampler of Bayesian flows; fits any joint process whose fields all have ``"bayesian_flow"`` and
    ``"end_back"`` (the continuous, discrete and periodic flows: e.g. CrysBFN's lattice, coordinates and types).

    Fixed fields (``Inpaint``) are re-imposed after every step. Every belief is drawn from the trained flow at
    the sampler's time (periodic fields: floor(t n) sender samples of their own n-step table), so on the uniform
    grid with a number of steps that divides a discrete-time field's n (e.g. 10 or 20 steps of a flow trained with
    100) every evaluation sees a (belief, t) pair of the training distribution, with x_hat in place of the data;
    the receiver sampler is the trained periodic flow only with exactly n steps.

    Args:
        steps: number n of network evaluations (n + 1 with ``final="evaluate"``).
        grid: time grid of the base class (``"uniform"`` is the BFN grid t_i = i/n).
        estimate: what replaces the data in the flow distribution for categorical fields: ``"mean"`` (the output
            distribution's expectation p_hat, as CrysBFN does) or ``"sample"`` (a class drawn from it). Continuous
            and periodic fields output a point estimate, which both use.
        final: ``"jump"`` (return the last evaluation's estimate, NFE = n; CrysBFN) or ``"evaluate"`` (resample at
            t = 1 and evaluate once more, NFE = n + 1).
    """

    name: ClassVar[str] = "bfn_end_back"
    requires: ClassVar[frozenset[str]] = frozenset({"bayesian_flow", "end_back"})

    def __init__(self, steps: int = 100, grid: str = "uniform", estimate: str = "mean", final: str = "jump"):
        super().__init__(steps, grid)
        if estimate not in BFN_ESTIMATES:
            raise ValueError(f"bfn_end_back: estimate must be one of {BFN_ESTIMATES}, got {estimate!r}")
        if final not in FINAL_RULES:
            raise ValueError(f"bfn_end_back: final must be one of {FINAL_RULES}, got {final!r}")
        self.estimate = estimate
        self.final = final
        self.final_rule = final  # the base class's loop and expected_nfe read it from the instance

    def _step(self, ctx, state, pred, t_next):
        return {k: ctx.joint[k].resample(s, pred[k], ctx.kinds[k], self._t(s, t_next), self.estimate, ctx.generator)
                for k, s in state.items()}
