"""Ordered unmasking of masked (absorbing-state) diffusion: exact counts per step, cells chosen by confidence
(MaskGIT, Chang et al. 2022) or at random.

The ancestral sampler reveals each masked cell independently with probability (alpha(s) - alpha(t)) / (1 - alpha(t)).
Here the *number* is exact: a row (one sample of the batch) with n generated cells shows round(n alpha(t_{i+1})) of
them after step i, t_0 < ... < t_N its time grid and alpha the field's keep schedule. *Which* masked cells are revealed
is chosen by ``order``:

    "random"      uniformly at random (the ancestral sampler with exact counts: with an exact denoiser it draws the
                  data distribution);
    "confidence"  the cells whose drawn token has the highest log-probability (greedy: it favours modes), with
                  MaskGIT's annealed randomness at step i = 0 .. N - 1 when ``choice_noise`` > 0:
                  score = log p(token) + choice_noise (1 - (i + 1) / N) g, g a standard Gumbel draw per cell
                  (MaskGIT's "choice temperature", 4.5 there).

Each masked cell draws its token from softmax(logits / temperature) of the step's network evaluation; revealed cells
never change. The last step fills every cell still masked.

*Generated cells* are the real entries of a field (its padding mask) that no fixed field (:class:`Inpaint`) gives.
A domain steers the order with an :class:`UnmaskRule`: cells it ``forced`` (determined by what is revealed) are set
at once and count against the step's quota; only cells it calls ``eligible`` may be revealed; ``restrict`` edits the
logits given the current tokens. At the last step the remaining cells are filled in passes over the *same*
evaluation (forced cells, then the eligible ones drawn from the restricted logits, then the rule is asked again
given the new tokens), so a cell that depends on another is drawn restricted by the value drawn for it in that step;
no pass costs a network evaluation.

``start`` (an argument of :meth:`Sampler.sample`) continues a partly revealed state: its generated cells that show
the mask token are filled, the others are kept as already revealed. Each row then starts at the time t0 whose keep
probability alpha(t0) is its share of generated cells already shown (the noise level the network was trained for at
that share) and runs ``steps`` evaluations on the grid t0 + (t_end - t0) u_i, u_i the base grid over [0, 1]. Without
``start`` every row starts at t0 = 0 (a row with no generated cell sits at t = 1 and changes nothing).

NFE = steps (2 steps with classifier-free guidance), counted by the core's evaluation context.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from morphogen.processes.base import FieldState, ProcessError
from morphogen.processes.uniform import real_entries
from morphogen.samplers.base import Sampler
from morphogen.utils.config import Configurable

ORDERS = ("confidence", "random")
_MEMORY = "unmask"


@dataclass
class ForcedCells:
    """Cells whose token follows from what is revealed.

    Attributes:
        cells: (B, ...) bool, the cells (only masked generated cells are used).
        values: (B, ...) long, their tokens (read where ``cells`` is set).
    """

    cells: Tensor
    values: Tensor


class UnmaskRule(Configurable):
    """Hooks of a domain into :class:`OrderedUnmasking`; the defaults change nothing.

    Every hook gets ``field`` (the field's name), ``x`` (B, ...) long, the current tokens (the mask id on masked cells,
    fixed and padding entries as they are) and ``masked`` (B, ...) bool, the generated cells still masked. A rule must
    not depend on hidden state: it is asked again after every change of ``x``.
    """

    def forced(self, field: str, x: Tensor, masked: Tensor) -> ForcedCells | None:
        """Masked cells whose token is already determined (revealed at once, counted against the schedule)."""
        return None

    def eligible(self, field: str, x: Tensor, masked: Tensor) -> Tensor:
        """(B, ...) bool: the masked cells that may be revealed now (default: all of them)."""
        return masked

    def restrict(self, field: str, x: Tensor, masked: Tensor, logits: Tensor) -> Tensor:
        """Logits (B, ..., K) to draw from, given the current tokens (default: unchanged). Forbid a class with a
        large negative logit; leave at least one class allowed per cell."""
        return logits


def draw(logits: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """One class per cell from softmax(``logits``) (..., K) by Gumbel-max: (tokens (...) long, their
    log-probabilities (...) float32)."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    tok = (logp + _gumbel(logp.shape, logp.device, generator)).argmax(dim=-1)
    return tok, logp.gather(-1, tok[..., None]).squeeze(-1)


def _gumbel(shape, device, generator) -> Tensor:
    u = torch.rand(shape, device=device, generator=generator).clamp_(1e-20, 1.0 - 1e-7)
    return -torch.log(-torch.log(u))


@dataclass
class _Field:
    """What a run keeps per field: generated cells (B, ...) bool, their number per row n (B,), start times t0 (B,)."""

    generated: Tensor
    n: Tensor
    t0: Tensor


class OrderedUnmasking(Sampler):
    """Ordered unmasking (module documentation) for fields whose processes have ``"unmask"`` (:class:`MaskedDiffusion`).

    Args:
        steps: network evaluations N (>= 1).
        order: ``"confidence"`` (MaskGIT) or ``"random"``.
        choice_noise: MaskGIT's annealed Gumbel noise on the choice (>= 0; order "confidence" only).
        temperature: divides the logits before drawing (> 0; 1 = the model's distribution, < 1 sharper).
        rule: a domain's :class:`UnmaskRule` (None: every masked cell eligible, logits unchanged).
        grid: the base time grid (:func:`morphogen.samplers.grid.time_grid`), stretched over [t0, t_end] per row.
    """

    name: ClassVar[str] = "unmask"
    requires: ClassVar[frozenset[str]] = frozenset({"unmask"})

    def __init__(self, steps: int = 100, order: str = "confidence", choice_noise: float = 0.0,
                 temperature: float = 1.0, rule: UnmaskRule | None = None, grid: str = "uniform"):
        super().__init__(steps, grid)
        if order not in ORDERS:
            raise ValueError(f"unmask: order must be one of {ORDERS}, got {order!r}")
        if not float(temperature) > 0:
            raise ValueError(f"unmask: temperature must be positive, got {temperature}")
        if not float(choice_noise) >= 0:
            raise ValueError(f"unmask: choice_noise must be >= 0, got {choice_noise}")
        if float(choice_noise) > 0 and order != "confidence":
            raise ValueError(f"unmask: choice_noise applies to order 'confidence' only, got order {order!r}")
        if rule is not None and not isinstance(rule, UnmaskRule):
            raise TypeError(f"unmask: rule must be an UnmaskRule, got {type(rule).__name__}")
        self.order, self.choice_noise, self.temperature = order, float(choice_noise), float(temperature)
        self.rule = UnmaskRule() if rule is None else rule

    # -- the start ----------------------------------------------------------------------------------------------
    def _initial_state(self, ctx, state, start):
        start = dict(start or {})
        unknown = set(start) - set(state)
        if unknown:
            raise ProcessError(f"unmask: start given for fields {sorted(unknown)}; the joint process has {list(state)}")
        t_end = min(p.t_end for p in ctx.joint.processes.values())
        fields = {}
        out = dict(state)
        for k, s in state.items():
            proc = ctx.joint[k]
            generated = real_entries(s.mask, s.value) & ~ctx.known(k, s.value)
            x = s.value
            if k in start:
                x = torch.where(generated, self._check_start(k, start[k], x, generated, proc.mask_id), x)
            n = generated.flatten(1).sum(dim=1)
            shown = (generated & (x != proc.mask_id)).flatten(1).sum(dim=1)
            share = torch.where(n > 0, shown.double() / n.clamp_min(1).double(), torch.ones_like(shown).double())
            t0 = proc.schedule.time_of(share).clamp_max(t_end)
            fields[k] = _Field(generated, n, t0)
            out[k] = s.with_value(x, t=t0.to(s.t.dtype))
        ctx.memory[_MEMORY] = {"step": 0, "t_end": t_end, "fields": fields}
        return ctx.apply_fixed(out)

    @staticmethod
    def _check_start(name: str, value: Tensor, like: Tensor, generated: Tensor, mask_id: int) -> Tensor:
        """The start values of field ``name`` on the device of ``like``, checked: shape (B, ...) of the field, long,
        tokens in [0, mask_id] on the generated cells."""
        value = torch.as_tensor(value)
        if tuple(value.shape) != tuple(like.shape):
            raise ProcessError(f"unmask: start of field '{name}' has shape {tuple(value.shape)}, the samples "
                               f"{tuple(like.shape)}")
        if value.dtype != torch.long:
            raise ProcessError(f"unmask: start of field '{name}' must hold tokens as a long tensor, got {value.dtype}")
        value = value.to(like.device)
        bad = generated & ((value < 0) | (value > mask_id))
        if bad.any():
            where = tuple(bad.nonzero()[0].tolist())
            raise ProcessError(f"unmask: start of field '{name}' holds {int(value[where])} at index {where}, outside "
                               f"[0, {mask_id}] (the classes and the mask id)")
        return value

    # -- the steps ----------------------------------------------------------------------------------------------
    def _masked(self, ctx, name: str, s: FieldState) -> Tensor:
        return ctx.joint[name].is_masked(s) & ctx.memory[_MEMORY]["fields"][name].generated

    def _force(self, name: str, x: Tensor, masked: Tensor) -> tuple[Tensor, Tensor]:
        """Apply the rule's forced cells: (tokens, cells still masked)."""
        f = self.rule.forced(name, x, masked)
        if f is None:
            return x, masked
        cells = f.cells.to(masked.device).bool() & masked
        return torch.where(cells, f.values.to(x), x), masked & ~cells

    def _step(self, ctx, state, pred, t_next):
        mem = ctx.memory[_MEMORY]
        i, t_end = mem["step"], mem["t_end"]
        mem["step"] = i + 1
        out = {}
        for k, s in state.items():
            proc, info = ctx.joint[k], mem["fields"][k]
            t_row = info.t0 + (t_end - info.t0) * (float(t_next) / t_end)  # (B,) float64
            x, masked = self._force(k, s.value, self._masked(ctx, k, s))
            logits = self.rule.restrict(k, x, masked, pred[k].float() / self.temperature)
            tok, logp = draw(logits, ctx.generator)
            eligible = self.rule.eligible(k, x, masked) & masked
            if self.order == "confidence":
                score = logp
                if self.choice_noise > 0:
                    anneal = self.choice_noise * (1.0 - (i + 1) / self.steps)
                    score = logp + anneal * _gumbel(logp.shape, logp.device, ctx.generator)
            else:
                score = torch.rand(x.shape, device=x.device, generator=ctx.generator)
            score = torch.where(eligible, score, torch.full_like(score, float("-inf"))).flatten(1)
            want = torch.round(info.n.double() * proc.schedule.alpha(t_row).to(info.n.device)).long()
            shown = info.n - masked.flatten(1).sum(dim=1)
            n_new = torch.minimum((want - shown).clamp_min(0), eligible.flatten(1).sum(dim=1))  # (B,)
            rank = score.argsort(dim=1, descending=True).argsort(dim=1)
            reveal = (rank < n_new[:, None]).view_as(x) & eligible
            out[k] = s.with_value(torch.where(reveal, tok, x), t=t_row.to(s.t.dtype))
        return out

    def _finish(self, ctx, state, pred):
        """The last step: every remaining masked cell, in passes over the one evaluation ``pred``."""
        out = {}
        for k, s in state.items():
            x, masked = s.value, self._masked(ctx, k, s)
            logits = pred[k].float() / self.temperature
            for _ in range(int(masked.sum()) + 1):
                x, masked = self._force(k, x, masked)
                if not masked.any():
                    break
                tok, _ = draw(self.rule.restrict(k, x, masked, logits), ctx.generator)
                eligible = self.rule.eligible(k, x, masked) & masked
                if not eligible.any():  # a rule holds every remaining cell back: draw them all now
                    eligible = masked
                x, masked = torch.where(eligible, tok, x), masked & ~eligible
            out[k] = x
        return out

