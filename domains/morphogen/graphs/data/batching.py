"""Training batches of dense graphs: a map-style dataset of positions and the collate that gathers them.

A record is only its position in the :class:`~morphogen.graphs.data.dense.DenseGraphs`; the collate indexes the
padded tensors once per batch (cheaper than stacking per-graph tensors) and builds the field masks.
"""
from __future__ import annotations

from morphogen.graphs.data.dense import DenseGraphs


class DenseGraphDataset:
    """Positions 0 .. B-1 of ``graphs``, and (as :meth:`collate`) the batch they name.

    A batch is ``{"fields": {"X": (b, N, F), "A": (b, N, N)}, "masks": {"X": (b, N, 1), "A": (b, N, N)}}``
    (:func:`~morphogen.graphs.data.dense.graph_masks`: real nodes, real node pairs off the diagonal). A plain class,
    so that DataLoader workers started by spawn can pickle it."""

    def __init__(self, graphs: DenseGraphs):
        self.graphs = graphs

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, i: int) -> int:
        return i

    def collate(self, positions: list[int]) -> dict:
        import torch

        from morphogen.graphs.data.dense import graph_masks

        i = torch.as_tensor(positions)
        g = self.graphs
        return {"fields": {"X": g.x[i], "A": g.adj[i]}, "masks": graph_masks(g.mask[i])}
