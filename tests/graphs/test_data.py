"""Graph readers and featurisers, GDSS's molecule split: round trips, errors naming file and line, real data
(the molecule readers are tested in tests/molecules)."""
import json

import networkx as nx
import pytest
import torch

from morphogen.graphs.data import (
    DenseGraphs, GraphDataError, GraphKind, gdss_split, graphs_to_dense, read_graph_json, read_test_indices,
    read_tu_dataset, write_graph_json,
)
from morphogen.molecules import QM9_ATOMS, MoleculeSet, featurize_smiles


def test_dense_graphs_from_molecules_are_gdss_features():
    m = featurize_smiles(["c1ccccc1", "CCO"], QM9_ATOMS, max_atoms=9)
    g = DenseGraphs.from_molecules(m)
    assert g.x.shape == (2, 9, 4) and g.x.dtype == torch.float32 and g.x[0, :, 0].sum() == 6
    assert g.x[1, 3:].abs().sum() == 0 and g.mask.sum(1).tolist() == [6, 3] and g.names == ["c1ccccc1", "CCO"]
    a = g.adj[0]
    assert g.adj.dtype == torch.float32 and sorted(a[a > 0].tolist()) == [1.0] * 6 + [2.0] * 6
    assert g.feature_names == list(QM9_ATOMS)


def test_graph_kind_is_stored_by_value():
    assert GraphKind.parse("molecule") is GraphKind.MOLECULE and GraphKind.GRAPH.value == "graph"
    assert json.dumps({"kind": GraphKind.MOLECULE.value}) == '{"kind": "molecule"}'
    with pytest.raises(ValueError, match="model.safetensors: unknown graph kind 'protein'"):
        GraphKind.parse("protein", "model.safetensors")


def test_gdss_split_convention(tmp_path):
    g = featurize_smiles(["C", "N", "O", "CC"], QM9_ATOMS)
    ms = MoleculeSet(g, torch.tensor([0, 1, 3, 4]), "t")
    idx = tmp_path / "valid_idx_qm9.json"
    idx.write_text(json.dumps({"valid_idxs": ["001", "002", "003"]}))  # GDSS reads int(s) as a 0-based row
    sp = gdss_split(ms, idx)
    assert sp.test.tolist() == [1, 2] and sp.missing == [2] and sp.train.tolist() == [0, 3]


def test_graph_json_round_trip_and_errors(tmp_path):
    gs = [nx.cycle_graph(5), nx.path_graph(3)]
    p = write_graph_json(gs, tmp_path / "g.json")
    back = read_graph_json(p)
    assert [nx.is_isomorphic(a, b) for a, b in zip(gs, back)] == [True, True]
    p.write_text(json.dumps({"graphs": [{"num_nodes": 2, "edges": [[0, 1]]}, {"num_nodes": 2, "edges": [[0, 2]]}]}))
    with pytest.raises(GraphDataError, match="graph 1: edge"):
        read_graph_json(p)


def test_tu_reader_errors(tmp_path):
    (tmp_path / "T_graph_indicator.txt").write_text("1\n1\n2\n")
    (tmp_path / "T_A.txt").write_text("1, 2\n2, 1\n2, 3\n")
    with pytest.raises(GraphDataError, match=r"T_A.txt:3: edge \(2, 3\) joins graph 1 and graph 2"):
        read_tu_dataset(tmp_path, "T")


def test_degree_features():
    d = graphs_to_dense([nx.star_graph(3)], max_nodes=6, max_degree_feat=5)
    assert d.x[0, 0].argmax() == 3 and d.x[0, 1].argmax() == 1 and d.mask[0].sum() == 4


def test_real_generic_and_tu(shared_data):
    cs = read_graph_json(shared_data / "graphs/generic/community_small.json")
    assert len(cs) == 100 and max(G.number_of_nodes() for G in cs) == 20
    enz = read_tu_dataset(shared_data / "graphs/generic/ENZYMES_tu")
    assert len(enz) == 600


def test_real_test_indices(shared_data):
    assert len(read_test_indices(shared_data / "graphs/molecules/valid_idx_qm9.json")) == 13082
    assert len(read_test_indices(shared_data / "graphs/molecules/valid_idx_zinc250k.json")) == 24887
