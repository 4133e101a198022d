"""The batch-last layout inside the GDSS networks.

GDSS's graphs are small (QM9: N = 9), so each graph's matrix products are tiny ((9 x 9) times (9 x 16)): batched
BLAS kernels spend more time per matrix than on its arithmetic, and the permutes between the layouts they need
cost more again. Inside ScoreNetworkX and ScoreNetworkA the graphs therefore run along the LAST dimension:

* node features (F, N, B), dense adjacency channels (C, N, N, B), pair channels (C, P, B) (:mod:`.pairs`);
* a product over nodes (:func:`propagate`) is N multiply-adds, each vectorised over all B graphs;
* a linear map is one GEMM over all (node or pair, graph) columns (:meth:`MLP.columns <.layers.MLP.columns>`).

The networks take and return the usual batch-first tensors (x (B, N, F), adj (B, N, N)); only their insides use
this layout. The arithmetic is GDSS's; results agree with the batch-first formulas to float rounding.
"""
from __future__ import annotations

import torch
from torch import Tensor


def nodes_last(x: Tensor) -> Tensor:
    """(B, N, F) -> (F, N, B), contiguous."""
    return x.permute(2, 1, 0).contiguous()


def nodes_first(x: Tensor) -> Tensor:
    """(F, N, B) -> (B, N, F), contiguous."""
    return x.permute(2, 1, 0).contiguous()


def with_self_loops(adj: Tensor) -> Tensor:
    """(B, N, N) -> (N, N, B) with the diagonal replaced by 1 (GDSS's GCN self-loops)."""
    n = adj.shape[-1]
    eye = torch.eye(n, dtype=adj.dtype, device=adj.device)
    return (adj * (1 - eye) + eye).permute(1, 2, 0).contiguous()


def normalize_adjacency(a: Tensor) -> Tensor:
    """(..., N, N, B) holding its self-loops on the diagonal -> D^-1/2 a D^-1/2, degrees (row sums) clamped at 1."""
    d = a.sum(-2).clamp_min(1.0).pow(-0.5)  # ..., N, B
    return d[..., :, None, :] * a * d[..., None, :, :]


def propagate(a: Tensor, x: Tensor) -> Tensor:
    """a (C, N, N, B), x (F, N, B) -> (C, F, N, B): out[c, :, i] = sum_j a[c, i, j] x[:, j], for every graph."""
    n = a.shape[-2]
    out = a[:, None, :, 0] * x[None, :, None, 0]
    for j in range(1, n):
        out.addcmul_(a[:, None, :, j], x[None, :, None, j])
    return out
