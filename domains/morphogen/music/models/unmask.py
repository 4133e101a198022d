"""The GETScore rule of ordered unmasking: pitch before duration, durations restricted by their pitch.

Music samples its confidence- and random-ordered decoding with the core's
:class:`morphogen.samplers.unmask.OrderedUnmasking` (exact counts per step from the keep schedule, cells chosen by
model confidence, MaskGIT, or at random; ``choice_noise`` and ``temperature`` there). This module adds only what is
GETScore's own, as an :class:`~morphogen.samplers.unmask.UnmaskRule`.

Pitch and duration rows of a track are kept consistent (the rule of a GETScore: both ``<empty>``, or a pitch token
over a duration token). A duration cell is revealed only after its pitch cell, and then from logits restricted by it:
under ``<empty>`` the duration is ``<empty>`` (forced: set at once, counted as revealed), under a pitch token it is a
duration token (``<empty>`` blocked). At the last step the sampler fills the remaining cells in passes over the same
evaluation: the remaining pitch cells first, then the duration cells restricted by those pitches. So decoding never
finds a pitch without duration or the reverse.

Grids are (B, R, L) with rows 2k (pitch) and 2k + 1 (duration) of track k; the mask token is the masked diffusion's
``mask_id``.
"""
from __future__ import annotations

import torch
from torch import Tensor

from morphogen.music.data.vocabulary import EMPTY
from morphogen.samplers.unmask import ForcedCells, UnmaskRule

#: the logit of a forbidden token (finite, so a row that forbids everything still gives a distribution)
NEG = -1.0e9


class GETScoreRule(UnmaskRule):
    """Pitch before duration on the GETScore field (module documentation); other fields are left alone.

    Args:
        field: the name of the GETScore field.
    """

    def __init__(self, field: str = "tokens"):
        self.field = field

    @staticmethod
    def _pitch_shown(x: Tensor, masked: Tensor) -> tuple[Tensor, Tensor]:
        """(B, T, L) bool each: pitch cells that show a pitch token, pitch cells that show ``<empty>``."""
        shown = ~masked[:, 0::2]
        pitch = x[:, 0::2]
        return shown & (pitch != EMPTY), shown & (pitch == EMPTY)

    def forced(self, field, x, masked):
        if field != self.field:
            return None
        _, rest = self._pitch_shown(x, masked)
        cells = torch.zeros_like(masked)
        cells[:, 1::2] = masked[:, 1::2] & rest
        return ForcedCells(cells, torch.full_like(x, EMPTY))

    def eligible(self, field, x, masked):
        if field != self.field:
            return masked
        out = masked.clone()
        out[:, 1::2] &= ~masked[:, 0::2]  # a duration only after its pitch
        return out

    def restrict(self, field, x, masked, logits):
        if field != self.field:
            return logits
        note, rest = self._pitch_shown(x, masked)
        is_empty = torch.arange(logits.shape[-1], device=logits.device) == EMPTY  # (V,)
        dur = logits[:, 1::2]
        dur = dur.masked_fill(note[..., None] & is_empty, NEG)
        only_empty = torch.where(is_empty, 0.0, NEG).to(dur.dtype)
        dur = torch.where(rest[..., None], only_empty, dur)
        out = logits.clone()
        out[:, 1::2] = dur
        return out
