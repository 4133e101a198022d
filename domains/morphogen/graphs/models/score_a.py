"""ScoreNetworkA of GDSS: the adjacency network (graph multi-head attention over powers of A)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from morphogen.graphs.models.layers import MLP, AttentionLayer, adjacency_powers, mask_nodes, mask_pairs
from morphogen.utils.config import Configurable


class ScoreNetworkA(Configurable, nn.Module):
    """Starts from the channels A, A^2, ..., A^c_init of the noisy adjacency; ``num_layers`` attention layers map
    (x, channels) to new (x, channels) with c_hid channels (c_final at the last layer); all channel stacks are
    concatenated per node pair and an MLP (3 layers) gives one value per pair. The output is symmetric, zero on
    the diagonal and on padded rows / columns.

    Args:
        num_features: F of the node features.
        hidden: node width of the attention layers (``nhid``).
        attn_dim: attention width (``adim``).
        num_layers, num_linears, c_init, c_hid, c_final, heads: as in GDSS.
    """

    def __init__(self, num_features: int, hidden: int = 16, attn_dim: int = 16, num_layers: int = 3,
                 num_linears: int = 3, c_init: int = 2, c_hid: int = 8, c_final: int = 4, heads: int = 4):
        super().__init__()
        self.c_init = int(c_init)
        layers = []
        for k in range(num_layers):
            first, last = k == 0, k == num_layers - 1
            layers.append(AttentionLayer(num_linears, num_features if first else hidden,
                                         hidden if first else attn_dim, hidden,
                                         c_init if first else c_hid, c_final if last else c_hid, heads))
        self.layers = nn.ModuleList(layers)
        width = c_hid * (num_layers - 1) + c_final + c_init
        self.final = MLP(3, width, 2 * width, 1)

    def forward(self, x: Tensor, adj: Tensor, mask: Tensor | None = None) -> Tensor:
        """x (B, N, F), adj (B, N, N), mask (B, N) bool -> (B, N, N) symmetric."""
        x, adj = mask_nodes(x, mask), mask_pairs(adj, mask)
        adjc = adjacency_powers(adj, self.c_init)
        stack = [adjc]
        for layer in self.layers:
            x, adjc = layer(x, adjc, mask)
            stack.append(adjc)
        out = self.final(torch.cat(stack, 1).permute(0, 2, 3, 1)).squeeze(-1)
        out = 0.5 * (out + out.transpose(-1, -2))  # exact symmetry (A^k by bmm is symmetric only up to rounding)
        n = out.shape[-1]
        out = out * (1 - torch.eye(n, dtype=out.dtype, device=out.device))
        return mask_pairs(out, mask)
