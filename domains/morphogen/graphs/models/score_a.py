"""ScoreNetworkA of GDSS: the adjacency network (graph multi-head attention over powers of A)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from morphogen.graphs.models.batch_last import nodes_last
from morphogen.graphs.models.layers import MLP, AttentionLayer, adjacency_powers, mask_nodes, mask_pairs
from morphogen.graphs.models.pairs import pair_layout
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
        """x (B, N, F), adj (B, N, N) symmetric (its upper triangle is read), mask (B, N) bool -> (B, N, N)
        symmetric, zero on the diagonal and on padded rows / columns.

        Inside, batch-last (:mod:`.batch_last`) and on the node pairs i < j (:mod:`.pairs`): GDSS's dense
        computation gives the same values there, and its output's symmetrisation and zero diagonal hold by
        construction."""
        x, adj = mask_nodes(x, mask), mask_pairs(adj, mask)
        b, n, _ = adj.shape
        layout = pair_layout(n, adj.device)
        node_mask = pair_mask = None
        if mask is not None:
            node_mask = mask.t().to(adj.dtype)  # N, B
            pair_mask = layout.pack(node_mask[:, None] * node_mask[None])  # P, B
        powers = adjacency_powers(adj, self.c_init).permute(1, 2, 3, 0).contiguous()  # c_init, N, N, B
        pairs = layout.pack(powers)  # c_init, P, B
        h, stack = nodes_last(x), [pairs]
        for k, layer in enumerate(self.layers):
            h, pairs = layer(h, pairs, layout, node_mask, pair_mask, node_output=k < len(self.layers) - 1)
            stack.append(pairs)
        stack = torch.cat(stack)  # all channels, (c_init + ... + c_final, P, B)
        out = self.final.columns(stack.reshape(stack.shape[0], layout.size * b)).reshape(1, layout.size, b)
        if pair_mask is not None:
            out = out * pair_mask
        return layout.unpack(out)[0].permute(2, 0, 1).contiguous()
