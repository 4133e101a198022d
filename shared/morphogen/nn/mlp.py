"""A small time-conditioned MLP denoiser for vector-valued fields (the core demo, tests, quick experiments)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from morphogen.nn.embeddings import SinusoidalEmbedding
from morphogen.utils.config import Configurable


class MLPDenoiser(Configurable, nn.Module):
    """Predicts one field of shape (B, dim) from its noisy value and t, optionally conditioned on a class label.

    Args:
        field: name of the field it denoises.
        dim: size of the field's last dimension.
        kind: prediction kind it emits ("noise", "x1", "score", "velocity").
        hidden: width of the hidden layers.
        layers: number of hidden residual blocks.
        num_classes: > 0 adds a class-label condition (LongTensor (B,)) with a learned null label for
            classifier-free guidance (``drop_condition``).
    """

    def __init__(self, field: str = "x", dim: int = 2, kind: str = "noise", hidden: int = 128, layers: int = 3,
                 num_classes: int = 0):
        super().__init__()
        self.field, self.kind, self.num_classes = field, kind, int(num_classes)
        self.prediction_kinds = {field: kind}
        self.time = SinusoidalEmbedding(hidden)
        self.inp = nn.Linear(dim, hidden)
        self.label = nn.Embedding(num_classes + 1, hidden) if num_classes > 0 else None
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, 2 * hidden), nn.SiLU(), nn.Linear(2 * hidden, hidden))
            for _ in range(layers)
        )
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, dim))

    def forward(self, state, condition: Tensor | None = None, drop_condition: Tensor | None = None) -> dict[str, Tensor]:
        st = state[self.field]
        x = st.value
        cond = self.time(st.t)
        if self.label is not None:
            labels = torch.full((x.shape[0],), self.num_classes, dtype=torch.long, device=x.device)
            if condition is not None:
                labels = condition.long()
                if drop_condition is not None:
                    labels = torch.where(drop_condition, torch.full_like(labels, self.num_classes), labels)
            cond = cond + self.label(labels)
        h = self.inp(x.to(self.inp.weight.dtype))
        for blk in self.blocks:  # the conditioning enters every block
            h = h + blk(h + cond)
        return {self.field: self.out(h).to(x.dtype)}
