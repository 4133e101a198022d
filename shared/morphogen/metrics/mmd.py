"""Maximum mean discrepancy between two sample sets with a Gaussian (RBF) kernel."""
from __future__ import annotations

import torch
from torch import Tensor


def mmd_rbf(x: Tensor, y: Tensor, bandwidths: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0)) -> float:
    """Biased squared MMD estimate with a sum of RBF kernels exp(-|a - b|^2 / (2 h^2)); x (N, D), y (M, D).

    Returns a float >= 0; 0 iff the empirical distributions coincide (for characteristic kernels).
    """
    x = x.reshape(x.shape[0], -1).double()
    y = y.reshape(y.shape[0], -1).double()
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"mmd_rbf: dimension mismatch {x.shape[1]} vs {y.shape[1]}")
    xx, yy, xy = torch.cdist(x, x) ** 2, torch.cdist(y, y) ** 2, torch.cdist(x, y) ** 2
    total = 0.0
    for h in bandwidths:
        g = 1.0 / (2.0 * h * h)
        total += float(torch.exp(-g * xx).mean() + torch.exp(-g * yy).mean() - 2.0 * torch.exp(-g * xy).mean())
    return max(total, 0.0)
