"""Readers and featurisers: known molecules, round trips, errors naming file and line, real data."""
import json

import networkx as nx
import pytest
import torch

from morphogen.graphs.data import (
    GraphDataError, QM9_ATOMS, ZINC250K_ATOMS, featurize_smiles, gdss_split, graphs_to_dense, load_smiles_set,
    load_zinc250k, read_graph_json, read_smiles_csv, read_test_indices, read_tu_dataset, write_graph_json,
)
from morphogen.graphs.data.datasets import MoleculeSet


def test_benzene_is_kekulized_with_bond_orders():
    g = featurize_smiles(["c1ccccc1"], QM9_ATOMS)
    a = g.adj[0]
    assert g.x.shape == (1, 6, 4) and g.x[0, :, 0].sum() == 6
    assert sorted(a[a > 0].tolist()) == [1.0] * 6 + [2.0] * 6  # 3 single + 3 double bonds, both directions
    assert torch.equal(a, a.T) and a.diagonal().abs().sum() == 0


def test_padding_and_mask():
    g = featurize_smiles(["CCO", "C"], QM9_ATOMS, max_nodes=9)
    assert g.x.shape == (2, 9, 4) and g.mask.sum(1).tolist() == [3, 1]
    assert g.x[1, 1:].abs().sum() == 0 and g.adj[1].abs().sum() == 0


def test_zinc250k_reader_on_small_standard_file(tmp_path):
    p = tmp_path / "250k_rndm_zinc_drugs_clean_3.csv"
    # the standard file quotes SMILES with a trailing newline
    p.write_text('smiles,logP,qed,SAS\n"CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3F)c2c1\n",5.05,0.70,2.08\n'
                 '"C[NH+]1CCC(Cl)CC1\n",1.0,0.5,3.0\n')
    ms = load_zinc250k(p)
    assert len(ms.graphs) == 2 and ms.graphs.x.shape[1:] == (38, len(ZINC250K_ATOMS))
    assert ms.graphs.x[1, :, ZINC250K_ATOMS.index("Cl")].sum() == 1


def test_unparsable_smiles_names_file_and_line(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("smiles\nCCO\nC1CC(\nCC\n")
    with pytest.raises(GraphDataError, match=r"bad.csv:3: unparsable SMILES"):
        load_smiles_set(p, QM9_ATOMS, 9)


def test_overvalent_molecule_names_line_and_skip_reports(tmp_path):
    p = tmp_path / "val.csv"
    p.write_text("smiles\nCCO\nC(C)(C)(C)(C)C\nCC\n")
    with pytest.raises(GraphDataError, match=r"val.csv:3: over-valent atom"):
        load_smiles_set(p, QM9_ATOMS, 9)
    ms = load_smiles_set(p, QM9_ATOMS, 9, skip_invalid=True)
    assert len(ms.graphs) == 2 and len(ms.graphs.skipped) == 1 and "val.csv:3" in ms.graphs.skipped[0]
    assert ms.ids.tolist() == [0, 2]


def test_element_outside_vocabulary_is_an_error():
    with pytest.raises(GraphDataError, match="element S"):
        featurize_smiles(["CCS"], QM9_ATOMS)


def test_missing_column(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("name\nfoo\n")
    with pytest.raises(GraphDataError, match=r"x.csv:1: no column 'smiles'"):
        read_smiles_csv(p)


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


def test_real_zinc_file_and_indices(shared_data):
    ms = load_smiles_set(shared_data / "graphs/molecules/zinc_800_jt.csv", ZINC250K_ATOMS, 38)
    assert len(ms.graphs) == 800 and not ms.graphs.skipped
    assert len(read_test_indices(shared_data / "graphs/molecules/valid_idx_qm9.json")) == 13082
    assert len(read_test_indices(shared_data / "graphs/molecules/valid_idx_zinc250k.json")) == 24887
