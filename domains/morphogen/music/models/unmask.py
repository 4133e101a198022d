"""Ordered unmasking of GETScore grids (MaskGIT-style decoding of a masked-diffusion model), pitch before duration.

The core's ancestral sampler reveals every masked cell independently with the schedule's probability and draws its
token independently of the other cells revealed at the same step. Here the *number* of cells revealed after each step
follows the same schedule (after step i, round(n * alpha(t_{i+1})) of a piece's n target cells are shown), but
*which* cells are revealed is chosen:

    order="confidence"   the cells whose drawn token has the highest model probability (MaskGIT, Chang et al. 2022);
    order="random"       uniformly at random (an ancestral sampler with exact counts).

Pitch and duration rows of a track are kept consistent (the rule of a GETScore: both ``<empty>``, or a pitch token
over a duration token). A duration cell is revealed only after its pitch cell, and then from logits restricted by it:
under ``<empty>`` the duration is ``<empty>`` (set at once, counted as revealed), under a pitch token it is a
duration token. At the last step the remaining pitch cells are drawn first and the remaining duration cells from the
same evaluation, restricted by those pitches. So decoding never finds a pitch without duration or the reverse.

``temperature`` divides the logits before drawing (1 = the model's distribution; < 1 sharper). ``noise`` (order
"confidence" only) adds MaskGIT's annealed randomness to the choice: the score of a cell is its log-probability plus
``noise * (1 - (i + 1) / steps)`` times a Gumbel draw at step i (MaskGIT's "choice temperature", 4.5 there), so early
steps are less greedy.

``start`` continues a partly revealed grid (the repair rounds of :mod:`morphogen.music.models.repair`): the target
cells of ``start`` that hold the mask token are filled, the others are kept as already revealed. Each piece then
starts at the time t0 whose keep probability alpha(t0) is its share of revealed target cells (so the network sees the
noise level it was trained for at that share) and runs ``steps`` evaluations from t0 to 1 on the same schedule.
"""
from __future__ import annotations

import torch
from torch import Tensor

from morphogen.music.data.vocabulary import EMPTY
from morphogen.processes.base import FieldState

ORDERS = ("confidence", "random")
NEG = -1.0e9


def _draw(logits: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """(token, log-probability of the token) drawn from logits (..., V), one draw per cell (Gumbel-max)."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    u = torch.rand(logp.shape, device=logp.device, generator=generator).clamp_(1e-20, 1.0 - 1e-7)
    tok = (logp - torch.log(-torch.log(u))).argmax(dim=-1)
    return tok, logp.gather(-1, tok[..., None]).squeeze(-1)


def _restrict_durations(logits: Tensor, pitch: Tensor, mask_id: int) -> Tensor:
    """Duration-row logits (B, T, L, V) given the pitch cells above (B, T, L): ``<empty>`` is blocked under a known
    pitch token (anything but ``<empty>`` and the mask); under ``<empty>`` only ``<empty>`` is allowed."""
    out = logits.clone()
    is_note = (pitch != EMPTY) & (pitch != mask_id)
    out[..., EMPTY] = torch.where(is_note, torch.full_like(out[..., EMPTY], NEG), out[..., EMPTY])
    rest = pitch == EMPTY
    only_empty = torch.full_like(out, NEG)
    only_empty[..., EMPTY] = 0.0
    return torch.where(rest[..., None], only_empty, out)


@torch.no_grad()
def time_of_alpha(schedule, alpha: Tensor, iters: int = 60) -> Tensor:
    """The time t in [0, 1] with schedule.alpha(t) = ``alpha`` (any shape; bisection, alpha is non-decreasing)."""
    lo, hi = torch.zeros_like(alpha), torch.ones_like(alpha)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        below = schedule.alpha(mid) < alpha
        lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
    return torch.where(alpha <= 0, torch.zeros_like(alpha), torch.where(alpha >= 1, torch.ones_like(alpha), hi))


def ordered_unmask(denoiser, process, grids: Tensor, target: Tensor, steps: int, order: str = "confidence",
                   temperature: float = 1.0, generator: torch.Generator | None = None, field: str = "score",
                   noise: float = 0.0, start: Tensor | None = None) -> Tensor:
    """Fill the ``target`` cells of ``grids``.

    Args:
        denoiser: the GETScore denoiser ({field: FieldState} -> {field: logits (B, R, L, V)}).
        process: the field's :class:`MaskedDiffusion` (mask id and keep schedule alpha(t)).
        grids: (B, R, L) long; entries outside ``target`` are kept exactly.
        target: (B, R, L) bool, the cells to generate (pitch and duration rows of the target tracks).
        steps: network evaluations.
        order, temperature, noise: see the module's documentation.
        start: optional (B, R, L) long, a partly revealed grid to continue (module documentation); its target cells
            equal to the mask id are the ones filled.
    Returns:
        (B, R, L) long tokens.
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    k = process.mask_id
    x = torch.where(target, torch.full_like(grids, k) if start is None else start, grids)
    total = target.flatten(1).sum(dim=1)  # (B,)
    if start is None:
        t0 = torch.zeros(x.shape[0], device=x.device)
    else:
        shown = (target & (x != k)).flatten(1).sum(dim=1).float()
        share = torch.where(total > 0, shown / total.clamp_min(1).float(), torch.ones_like(shown))
        t0 = time_of_alpha(process.schedule, share)
    times = t0[:, None] + (1.0 - t0[:, None]) * torch.linspace(0.0, 1.0, steps + 1, device=x.device)[None]  # (B, S+1)
    for i in range(steps):
        t = times[:, i]
        logits = denoiser({field: FieldState(x, t, None)})[field].float() / temperature  # (B, R, L, V)
        masked = x == k
        last = i == steps - 1
        # pitch rows
        p_tok, p_conf = _draw(logits[:, 0::2], generator)
        pitch_known = x[:, 0::2]
        if last:
            pitch_now = torch.where(masked[:, 0::2], p_tok, pitch_known)
        else:
            pitch_now = pitch_known
        d_logits = _restrict_durations(logits[:, 1::2], pitch_now, k)
        d_tok, d_conf = _draw(d_logits, generator)
        tok = torch.empty_like(x)
        conf = torch.empty(x.shape, device=x.device)
        tok[:, 0::2], tok[:, 1::2] = p_tok, d_tok
        conf[:, 0::2], conf[:, 1::2] = p_conf, d_conf
        if last:
            x = torch.where(masked, tok, x)
            break
        # durations under a known <empty> are determined: reveal them now, they count against the schedule
        forced = torch.zeros_like(masked)
        forced[:, 1::2] = masked[:, 1::2] & (pitch_known == EMPTY)
        x = torch.where(forced, torch.full_like(x, EMPTY), x)
        masked = masked & ~forced
        eligible = masked.clone()
        eligible[:, 1::2] &= pitch_known != k  # a duration only after its pitch
        if order == "confidence":
            score = conf
            if noise > 0:
                u = torch.rand(x.shape, device=x.device, generator=generator).clamp_(1e-20, 1.0 - 1e-7)
                score = conf - noise * (1.0 - (i + 1) / steps) * torch.log(-torch.log(u))
        else:
            score = torch.rand(x.shape, device=x.device, generator=generator)
        score = torch.where(eligible, score, torch.full_like(score, float("-inf"))).flatten(1)
        alpha = process.schedule.alpha(times[:, i + 1]).to(x.device)
        want = torch.round(total.float() * alpha).long()  # revealed after this step
        n_new = (want - (total - masked.flatten(1).sum(dim=1))).clamp_min(0)  # (B,)
        n_new = torch.minimum(n_new, eligible.flatten(1).sum(dim=1))
        rank = score.argsort(dim=1, descending=True).argsort(dim=1)
        reveal = (rank < n_new[:, None]).view_as(x) & eligible
        x = torch.where(reveal, tok, x)
    return x
