"""Readers, featurisers and splits for molecules and generic graphs (dense padded tensors)."""
from morphogen.graphs.data.datasets import (
    MoleculeSet, Split, gdss_split, load_moses, load_qm9, load_smiles_set, load_zinc250k, read_test_indices,
)
from morphogen.graphs.data.dense import DenseGraphs, graph_masks, node_mask_from_counts
from morphogen.graphs.data.errors import GraphDataError
from morphogen.graphs.data.generic import (
    community_graph, community_small, dense_to_graphs, graphs_to_dense, grid_graphs, read_graph_json,
    read_tu_dataset, write_graph_json,
)
from morphogen.graphs.data.molecules import (
    QM9_ATOMS, ZINC250K_ATOMS, featurize_smiles, kekulized_graph, mol_from_smiles, read_smiles_csv,
)

__all__ = [
    "DenseGraphs", "GraphDataError", "MoleculeSet", "QM9_ATOMS", "Split", "ZINC250K_ATOMS", "community_graph",
    "community_small", "dense_to_graphs", "featurize_smiles", "gdss_split", "graph_masks", "graphs_to_dense",
    "grid_graphs", "kekulized_graph", "load_moses", "load_qm9", "load_smiles_set", "load_zinc250k",
    "mol_from_smiles", "node_mask_from_counts", "read_graph_json", "read_smiles_csv", "read_test_indices",
    "read_tu_dataset", "write_graph_json",
]
