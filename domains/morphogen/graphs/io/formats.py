"""Writing samples in the field's formats: ``graphs.json`` (generic graphs, :func:`morphogen.graphs.data.generic.
write_graph_json`) and a PNG grid (networkx). Molecules are written by :mod:`morphogen.molecules` (``samples.smi``:
:func:`morphogen.molecules.io.write_smiles`, grids: :func:`morphogen.molecules.draw.draw_molecules`)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence


def draw_graphs(graphs: Sequence, path: str | Path, per_row: int = 4, seed: int = 0) -> Path:
    """A PNG grid of networkx graphs (spring layout), written atomically."""
    import networkx as nx
    from matplotlib.figure import Figure  # no pyplot: leaves the caller's (e.g. a notebook's) backend alone

    from morphogen.utils.outputs import atomic_figure

    rows = max(1, -(-len(graphs) // per_row))
    fig = Figure(figsize=(3 * per_row, 3 * rows))
    axes = fig.subplots(rows, per_row, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, G in zip(axes.flat, graphs):
        nx.draw(G, nx.spring_layout(G, seed=seed), ax=ax, node_size=20, width=0.6)
    fig.tight_layout()
    return atomic_figure(path, fig, dpi=80)
