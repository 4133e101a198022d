"""The GDSS denoiser: ScoreNetworkX for field ``X`` and ScoreNetworkA for field ``A``, as one Denoiser."""
from __future__ import annotations

from typing import Mapping

from torch import Tensor, nn

from morphogen.graphs.models.score_a import ScoreNetworkA
from morphogen.graphs.models.score_x import ScoreNetworkX
from morphogen.processes.base import FieldState
from morphogen.utils.config import Configurable


class GDSSDenoiser(Configurable, nn.Module):
    """Both GDSS networks behind the core's Denoiser protocol.

    Like GDSS, the networks see the noisy X and A only, not t. GDSS reads the output of a VE field as the score
    and of a VP field as the noise (its score function divides by -std); ``kind_x`` / ``kind_a`` declare that
    (``"score"`` for VE presets, ``"noise"`` for VP presets).

    Args:
        x_net: ScoreNetworkX; a_net: ScoreNetworkA.
        kind_x, kind_a: prediction kinds of the two outputs.
    """

    def __init__(self, x_net: ScoreNetworkX, a_net: ScoreNetworkA, kind_x: str = "score", kind_a: str = "score"):
        super().__init__()
        self.x_net, self.a_net = x_net, a_net
        self.prediction_kinds = {"X": kind_x, "A": kind_a}

    def forward(self, state: Mapping[str, FieldState], condition=None, drop_condition=None) -> dict[str, Tensor]:
        """state["X"].value (B, N, F), state["A"].value (B, N, N); the node mask is read from X's mask (B, N, 1)."""
        sx, sa = state["X"], state["A"]
        mask = None if sx.mask is None else sx.mask.reshape(sx.value.shape[0], -1).bool()
        x, a = sx.value, sa.value
        return {"X": self.x_net(x, a, mask), "A": self.a_net(x, a, mask)}
