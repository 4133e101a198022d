"""Node pairs i < j: how ScoreNetworkA stores its adjacency channels.

Every adjacency channel of GDSS's ScoreNetworkA is symmetric (A and its powers, then ``a + a^T`` after each
layer), and the entries on the diagonal never reach the output: the GCN convolutions replace the diagonal by 1,
the pair MLPs act on each pair alone and the output's diagonal is set to 0. So a channel is fully described by
its P = N (N - 1) / 2 entries above the diagonal, and the pair MLPs, the bulk of the network's work, need to run
on those P pairs only instead of all N^2 (36 instead of 81 for QM9's N = 9). Pair tensors are batch-last
(:mod:`.batch_last`), (C, P, B), the pairs in the order of ``torch.triu_indices(N, N, 1)``.
"""
from __future__ import annotations

from functools import lru_cache

import torch
from torch import Tensor


class PairLayout:
    """Index maps between dense batch-last matrices (..., N, N, B) and the pairs i < j (..., P, B).

    Attributes:
        n: N; size: P = N (N - 1) / 2.
        upper, lower: (P,) flat indices i * N + j and j * N + i of the pairs (i < j) in an N * N matrix.
        dense: (N * N,) for each flat position of a symmetric matrix, its pair's index, or P on the diagonal
            (the row :meth:`unpack` fills with the diagonal value).
    """

    def __init__(self, n: int, device: torch.device | str | None = None):
        i, j = torch.triu_indices(n, n, 1, device=device)
        self.n, self.size = int(n), int(i.numel())
        self.upper, self.lower = i * n + j, j * n + i
        dense = torch.full((n * n,), self.size, dtype=torch.long, device=device)
        ids = torch.arange(self.size, device=device)
        dense[self.upper], dense[self.lower] = ids, ids
        self.dense = dense

    def pack(self, a: Tensor) -> Tensor:
        """(..., N, N, B) -> (..., P, B): the entries above the diagonal."""
        return a.flatten(-3, -2).index_select(-2, self.upper)

    def pack_sum(self, a: Tensor) -> Tensor:
        """(..., N, N, B) -> (..., P, B): a_ij + a_ji at each pair (a need not be symmetric)."""
        flat = a.flatten(-3, -2)
        return flat.index_select(-2, self.upper) + flat.index_select(-2, self.lower)

    def unpack(self, pairs: Tensor, diagonal: float = 0.0) -> Tensor:
        """(C, P, B) -> (C, N, N, B): the symmetric matrices with these pairs and ``diagonal`` on the diagonal."""
        c, _, b = pairs.shape
        rows = torch.cat([pairs, pairs.new_full((c, 1, b), diagonal)], 1)  # C, P + 1, B
        return rows.index_select(1, self.dense).reshape(c, self.n, self.n, b)


@lru_cache(maxsize=32)
def pair_layout(n: int, device: torch.device) -> PairLayout:
    """The (cached) :class:`PairLayout` of N nodes on ``device``. Built outside inference mode even when first asked
    for inside it (sampling runs there), so that its index tensors serve later autograd calls too."""
    with torch.inference_mode(False):
        return PairLayout(n, device)
