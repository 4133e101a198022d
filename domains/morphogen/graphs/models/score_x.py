"""ScoreNetworkX of GDSS: the node-feature network."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from morphogen.graphs.models.batch_last import nodes_first, nodes_last, normalize_adjacency, with_self_loops
from morphogen.graphs.models.layers import MLP, DenseGCN, mask_nodes, mask_pairs
from morphogen.utils.config import Configurable


class ScoreNetworkX(Configurable, nn.Module):
    """``depth`` GCN layers (tanh) over the noisy weighted adjacency; the input and every layer's output are
    concatenated and an MLP (3 layers, hidden 2 * width) maps them to the output (B, N, F); padded rows are zero.

    Args:
        num_features: F, the node feature size (e.g. 4 atom types for QM9, 10 degree classes for community-small).
        depth: number of GCN layers.
        hidden: GCN width (``nhid`` in GDSS).
    """

    def __init__(self, num_features: int, depth: int = 2, hidden: int = 16):
        super().__init__()
        self.convs = nn.ModuleList(DenseGCN(num_features if k == 0 else hidden, hidden) for k in range(depth))
        width = num_features + depth * hidden
        self.final = MLP(3, width, 2 * width, num_features)

    def forward(self, x: Tensor, adj: Tensor, mask: Tensor | None = None) -> Tensor:
        """x (B, N, F), adj (B, N, N), mask (B, N) bool -> (B, N, F). Runs batch-last inside (:mod:`.batch_last`)."""
        x, adj = mask_nodes(x, mask), mask_pairs(adj, mask)
        b, n, f = x.shape
        a = normalize_adjacency(with_self_loops(adj))  # N, N, B: the same for every layer
        h = nodes_last(x)
        hs = [h]
        for conv in self.convs:
            h = torch.tanh(conv.batch_last(h, a))
            hs.append(h)
        hs = torch.cat(hs)  # F + depth * hidden, N, B
        out = self.final.columns(hs.reshape(hs.shape[0], n * b)).reshape(f, n, b)
        return mask_nodes(nodes_first(out), mask)
