"""The S4 solver of GDSS (Symmetric Splitting for the System of SDEs), in Morphogen's time (t = 0 prior, t = 1 data).

Per step from t to t + h, with ONE network evaluation (the score at t is reused for every sub-step, as in GDSS):
    1. Langevin correction of every field with the score at t:
       x <- x + e s + sqrt(2 e) * scale_eps * z, e = 2 a (snr ||z|| / ||s||)^2 (norms averaged over the batch);
       a = 1 - beta(t) / steps for VP fields (clamped at 0: with fewer steps than beta's maximum it would turn
       negative and the step's square root NaN; the corrector then pauses there), 1 for VE. This is the step size
       of GDSS's ``S4_solver`` and of Song et al.'s Langevin corrector (``step_rule="score_norm"``, the default). ``step_rule="noise_norm"`` puts the noise
       norm in place of the score norm (e = 2 a snr^2, a constant step): an earlier, mistaken reading of the GDSS
       code, kept only to reproduce results computed with it. Near the data the score is large, so the two differ
       by orders of magnitude there: on QM9 (200 steps, snr 0.2, scale_eps 0.7) the constant step leaves 72 % of
       the molecules valid without correction, the score-norm step 97 %.
    2. half a step of the forward linear part run backwards: x <- x alpha(t + h/2)/alpha(t) + sd z,
       sd^2 = Var(x_t | x_{t + h/2}) under the forward process (GDSS's ``transition`` with negative dt);
    3. the score drift x <- x + g2(t) s h (g2 the squared diffusion of the forward SDE);
    4. the second half step as in 2; its mean is kept as the noise-free estimate returned at the end
       (GDSS's ``noise_removal``).

``final="denoise"`` instead ends with one more network evaluation at that noise-free mean, at the grid's end, and
returns the data estimate it implies (Tweedie's formula for a score network: x + sigma^2 s); NFE = steps + 1.
GDSS ends with the mean (``final="mean"``, the default).

Step 2 inverts the forward transition from t, which needs alpha(t) > 0: S4 applies to score SDEs (VP, sub-VP, VE),
not to flow matching, whose prior (alpha(0) = 0) keeps nothing of the data; such a field is refused before sampling.
"""
from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from morphogen.processes.base import apply_mask, expand_like
from morphogen.samplers.base import IncompatibleSamplerError, Sampler
from morphogen.samplers.predictor_corrector import langevin_step_size as core_step_size

STEP_RULES = ("score_norm", "noise_norm")
FINALS = ("mean", "denoise")


def _half_transition(process, st, t_from, t_to, generator):
    """(mean, sample) of step 2/4 for one field from ``t_from`` to ``t_to`` (both (B,))."""
    x = st.value
    s = process.schedule
    a0, a1 = expand_like(s.alpha(t_from), x), expand_like(s.alpha(t_to), x)
    s0, s1 = expand_like(s.sigma(t_from), x), expand_like(s.sigma(t_to), x)
    ratio = a0 / a1
    sd = (s0**2 - ratio**2 * s1**2).clamp_min(0.0).sqrt()
    mean = x / ratio
    z = process.sample_noise(tuple(x.shape), st.mask, x.device, x.dtype, generator)
    return apply_mask(mean, st.mask), apply_mask(mean + sd * z, st.mask)


def langevin_step_size(score: Tensor, noise: Tensor, snr: float, alpha: Tensor, rule: str = "score_norm") -> Tensor:
    """e = alpha times the core corrector's step 2 (snr ||noise|| / ||score||)^2 (GDSS and Song et al.);
    ``rule="noise_norm"``: ||score|| replaced by ||noise||, i.e. 2 alpha snr^2. score, noise (B, ...); alpha (B,);
    returns (B,)."""
    if rule == "noise_norm":
        return 2.0 * alpha * snr**2
    return alpha * core_step_size(score, noise, snr)


class S4Solver(Sampler):
    """GDSS's S4 sampler. Args: steps (network evaluations), snr, scale_eps (noise scale of the corrector),
    step_rule ("score_norm", GDSS's, or "noise_norm", see the module docstring), grid, final ("mean": the last
    update's noise-free mean, GDSS's noise removal; "denoise": one more evaluation there, NFE = steps + 1)."""

    name: ClassVar[str] = "s4"
    requires: ClassVar[frozenset[str]] = frozenset({"gaussian", "langevin"})

    def __init__(self, steps: int = 1000, snr: float = 0.2, scale_eps: float = 0.7, step_rule: str = "score_norm",
                 grid: str = "uniform", final: str = "mean"):
        super().__init__(steps, grid)
        if final not in FINALS:
            raise ValueError(f"final must be one of {FINALS}, got '{final}'")
        self.final = final
        if final == "denoise":  # all steps are updates, then one evaluation at the last update's mean
            self.final_rule = "evaluate"
        if step_rule not in STEP_RULES:
            raise ValueError(f"step_rule must be one of {STEP_RULES}, got '{step_rule}' (model files of earlier "
                             f"versions that say 'gdss' or 'song' are read by morphogen.graphs.legacy)")
        self.snr, self.scale_eps, self.step_rule = float(snr), float(scale_eps), step_rule

    def _corrector_alpha(self, process, t):
        beta = getattr(process.schedule, "beta", None)
        if beta is None:  # VE
            return torch.ones_like(t)
        return (1.0 - beta(t) / self.steps).clamp_min(0.0)

    def check(self, joint) -> None:
        super().check(joint)
        for name, proc in joint.items():
            if float(proc.schedule.alpha(torch.zeros(1, dtype=torch.float64))) <= 0.0:
                raise IncompatibleSamplerError(
                    f"sampler 's4' runs the forward process backwards from t = 0, but field '{name}' uses "
                    f"{type(proc).__name__} with {type(proc.schedule).__name__}, whose alpha(0) = 0 (flow matching); "
                    "use a VP, sub-VP or VE schedule, or a core sampler (heun, dpm_solver, euler_maruyama, pc)")

    final_rule: ClassVar[str] = "update"  # the noise-free mean of the last update is the sample

    def _step(self, ctx, state, pred, t_next):
        joint, kinds, gen = ctx.joint, ctx.kinds, ctx.generator
        means = ctx.memory.setdefault("means", {})
        new = {}
        for k, st in state.items():
            proc = joint[k]
            x, t = st.value, st.t
            h = expand_like(torch.full_like(t, t_next) - t, x)
            score = proc.convert(x, t, pred[k], kinds[k], "score")
            # 1. Langevin correction
            z = proc.sample_noise(tuple(x.shape), st.mask, x.device, x.dtype, gen)
            eps = expand_like(langevin_step_size(score, z, self.snr, self._corrector_alpha(proc, t), self.step_rule), x)
            x = x + eps * score + torch.sqrt(2.0 * eps) * self.scale_eps * z
            st = st.with_value(apply_mask(x, st.mask))
            # 2.-4. split predictor
            th = 0.5 * (t + torch.full_like(t, t_next))
            _, xs = _half_transition(proc, st, t, th, gen)
            g2 = expand_like(proc.diffusion_sq(t), x)
            xs = xs + g2 * score * h
            mean, xs = _half_transition(proc, st.with_value(apply_mask(xs, st.mask)), th, self._t(st, t_next), gen)
            means[k] = mean
            new[k] = st.with_value(xs, t=self._t(st, t_next))
        ctx.memory["updates"] = ctx.memory.get("updates", 0) + 1
        if self.final == "denoise" and ctx.memory["updates"] == self.steps:  # evaluated next at the mean
            new = {k: st.with_value(means[k]) for k, st in new.items()}
        return new

    def _finish(self, ctx, state, pred):
        if pred is None:
            return dict(ctx.memory["means"])
        return {k: apply_mask(ctx.joint[k].convert(st.value, st.t, pred[k], ctx.kinds[k], "x1"), st.mask)
                for k, st in state.items()}
