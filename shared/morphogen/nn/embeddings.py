"""Embeddings of scalar conditioning signals (time, noise level, accuracy) for denoisers."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class SinusoidalEmbedding(nn.Module):
    """t (B,) -> (B, dim) sin/cos features at geometrically spaced frequencies, then a 2-layer MLP.

    Args:
        dim: output width.
        scale: t is multiplied by this before the features (1000 suits t in [0, 1]).
        max_period: longest period of the features.
    """

    def __init__(self, dim: int = 64, scale: float = 1000.0, max_period: float = 10000.0):
        super().__init__()
        if dim % 2:
            raise ValueError(f"SinusoidalEmbedding dim must be even, got {dim}")
        self.dim, self.scale = dim, float(scale)
        half = dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
        self.register_buffer("freqs", freqs, persistent=False)
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: Tensor) -> Tensor:
        arg = (t.float() * self.scale)[:, None] * self.freqs[None]
        return self.mlp(torch.cat([torch.sin(arg), torch.cos(arg)], dim=-1).to(self.mlp[0].weight.dtype))
