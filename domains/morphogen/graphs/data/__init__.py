"""Readers, featurisers and splits for generic graphs (JSON, TU files, PyTorch Geometric datasets: :mod:`.pyg`),
GDSS's split of the molecule benchmarks, and the dense padded tensors of both (molecules are read and featurised by
:mod:`morphogen.molecules`)."""
from morphogen.graphs.data.dense import DenseGraphs, graph_masks
from morphogen.graphs.data.errors import GraphDataError
from morphogen.graphs.data.generic import (
    community_graph, community_small, dense_to_graphs, graphs_to_dense, grid_graphs, read_graph_json,
    read_tu_dataset, write_graph_json,
)
from morphogen.graphs.data.kind import GraphKind
from morphogen.graphs.data.pyg import pyg_to_dense, read_pyg_dataset
from morphogen.graphs.data.splits import Split, gdss_split, read_test_indices

__all__ = [
    "DenseGraphs", "GraphDataError", "GraphKind", "Split", "community_graph", "community_small", "dense_to_graphs",
    "gdss_split", "graph_masks", "graphs_to_dense", "grid_graphs", "pyg_to_dense", "read_graph_json",
    "read_pyg_dataset", "read_test_indices", "read_tu_dataset", "write_graph_json",
]
