"""Sampled graphs as PyTorch Geometric ``Data`` objects (:func:`to_pyg`): sampling stays on dense padded tensors
(faster for these models); the conversion happens once, at the end. ``torch_geometric`` is imported on first use."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor

    from morphogen.graphs.model import GraphSamples

FEATURES = ("onehot", "raw")


def to_pyg(samples: "GraphSamples | tuple[Tensor, Tensor, Tensor]", *, threshold: float = 0.5,
           features: str = "onehot", bond_orders: bool = False) -> list:
    """One ``torch_geometric.data.Data`` per sampled graph.

    Args:
        samples: :class:`~morphogen.graphs.model.GraphSamples` (what ``GraphModel.generate`` returns), or a tuple
            ``(x (B, N, F), adj (B, N, N), mask (B, N))``.
        threshold: an entry of the sampled adjacency >= ``threshold`` is an edge (GDSS's 0.5).
        features: ``"onehot"``: ``x`` is the one-hot of each node's largest feature (the form of the training
            features: degrees, atom types, TU node labels); ``"raw"``: the sampled values as they are.
        bond_orders: molecules: quantise the adjacency with GDSS's thresholds (0.5 / 1.5 / 2.5) into bond orders
            1 / 2 / 3 and put them in ``edge_attr`` (E, 1); the edges are the bonds.

    Each ``Data`` has ``num_nodes`` = the graph's node count (its mask; isolated nodes kept), ``edge_index`` (2, E)
    with both directions of every undirected edge, sorted by (source, target) (PyG's convention for undirected
    graphs), and ``x`` (num_nodes, F) float.
    """
    import torch

    from morphogen.graphs.data.pyg import import_pyg

    if features not in FEATURES:
        raise ValueError(f"features must be one of {FEATURES}, got {features!r}")
    x, adj, mask = (samples.x, samples.adj, samples.mask) if hasattr(samples, "adj") else samples
    x, adj, mask = x.detach().cpu().float(), adj.detach().cpu().float(), mask.detach().cpu().bool()
    if adj.dim() != 3 or adj.shape[1] != adj.shape[2] or x.shape[:2] != adj.shape[:2] or mask.shape != x.shape[:2]:
        raise ValueError(f"expected x (B, N, F), adj (B, N, N), mask (B, N); got {tuple(x.shape)}, "
                         f"{tuple(adj.shape)}, {tuple(mask.shape)}")
    import_pyg()
    from torch_geometric.data import Data

    if bond_orders:
        from morphogen.molecules.convert import quantize_bonds

        weight = quantize_bonds(adj)
    else:
        weight = (adj >= threshold).long()
    out = []
    for k in range(x.shape[0]):
        n = int(mask[k].sum())
        w = weight[k, :n, :n]
        w = torch.triu(w, 1)
        w = w + w.T  # symmetric from the upper triangle: one decision per pair, no self-loops
        ei = w.nonzero().t().contiguous()  # row-major: sorted by (source, target)
        xk = x[k, :n]
        if features == "onehot" and xk.shape[1]:
            xk = torch.nn.functional.one_hot(xk.argmax(-1), xk.shape[1]).float()
        d = Data(x=xk, edge_index=ei, num_nodes=n)
        if bond_orders:
            d.edge_attr = w[ei[0], ei[1]].float()[:, None]
        out.append(d)
    return out
