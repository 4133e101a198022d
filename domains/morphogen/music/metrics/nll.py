"""The negative log-likelihood bound of the masked-diffusion objective, per time step.

Protocol: each piece is encoded whole as a GETScore (16th-note columns, no cropping); the target tracks' pitch and
duration rows are the modelled entries, the other tracks are given clean. The continuous-time negative ELBO of
absorbing-state diffusion (MDLM / MD4; the core's ``MaskedDiffusion`` with ``loss_weighting="elbo"``),

    NELBO = E_{t ~ U(0, 1)} [ alpha'(t) / (1 - alpha(t)) * sum_{masked cells} -log p_theta(x1 | x_t) ],

is estimated with ``num_t`` stratified times per piece (t_i = (i + u_i) / num_t), in nats, and divided by the number
of 16th-note columns of the piece: **nats per 16th-note frame**, counting every target cell of the frame (pitch and
duration rows, ``<empty>`` included). It is an upper bound on -log p of the target tracks given the sources. The
set value divides summed nats by summed frames. Bits = nats / ln 2. Coconet's JSB figure is a frame-wise NLL of a
piano roll (4 voices x 16th frames); ours models onsets and durations, so the two are comparable in unit (per 16th
frame, whole chorale) but not in representation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class NLLResult:
    """nats (B,): the NELBO of each piece; frames (B,): its number of 16th columns."""

    nats: Tensor
    frames: Tensor

    @property
    def nats_per_frame(self) -> Tensor:
        return self.nats / self.frames


@torch.no_grad()
def nll_bound(model, grids: Tensor, target_mask: Tensor, num_t: int = 16, seed: int = 0) -> NLLResult:
    """Estimate the NELBO of ``grids`` (B, R, L) under ``model`` (a :class:`MusicModel`), modelling the entries of
    ``target_mask`` (B, R, L) given the rest. Frames per piece are its columns that are not all ``<pad>``."""
    from morphogen.music.data.vocabulary import PAD

    proc = model.process[FIELD_NAME]
    den = model.denoiser
    den.eval()
    g = torch.Generator().manual_seed(int(seed))
    b = grids.shape[0]
    total = torch.zeros(b, dtype=torch.float64)
    for i in range(num_t):
        t = ((i + torch.rand(b, generator=g)) / num_t).clamp(1e-4, 1 - 1e-4)
        c = proc.corrupt(grids, t, target_mask, generator=g)
        logits = den({FIELD_NAME: c.state})[FIELD_NAME]
        nll = -torch.log_softmax(logits.double(), dim=-1).gather(-1, grids.unsqueeze(-1)).squeeze(-1)
        masked = proc.is_masked(c.state)
        per = torch.where(masked, nll, torch.zeros_like(nll)).flatten(1).sum(1)
        total += proc.elbo_weight(t.double()) * per / num_t
    frames = (grids != PAD).any(dim=1).sum(dim=1).to(torch.float64)
    return NLLResult(total, frames)


FIELD_NAME = "tokens"


class NLLMeter:
    """Sums nats and frames over batches; ``compute()`` gives nats and bits per 16th frame for the whole set."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.nats = 0.0
        self.frames = 0.0

    def update(self, result: NLLResult) -> None:
        self.nats += float(result.nats.sum())
        self.frames += float(result.frames.sum())

    def compute(self) -> dict[str, float]:
        npf = self.nats / self.frames if self.frames else float("nan")
        return {"nll_nats_per_frame": npf, "nll_bits_per_frame": npf / math.log(2), "frames": self.frames}
