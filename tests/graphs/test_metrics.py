"""Metrics on cases with known answers."""
import math

import networkx as nx
import numpy as np
import pytest
import torch

from morphogen.graphs.data import QM9_ATOMS, featurize_smiles
from morphogen.graphs.metrics import (
    GraphMMD, MoleculeMetrics, clustering_mmd, decode_molecule_from_smiles, decode_molecules, degree_mmd,
    gaussian_emd, gaussian_tv, mmd, novelty, nspdk_features, nspdk_mmd, orbit_counts, orbit_mmd, smiles_to_nx,
    uniqueness,
)


def test_orbit_counts_known_graphs():
    k4 = orbit_counts(nx.complete_graph(4))
    assert (k4 == np.array([3, 0, 0, 3] + [0] * 10 + [1])).all()
    p4 = orbit_counts(nx.path_graph(4))
    assert p4[0].tolist()[:6] == [1, 1, 0, 0, 1, 0] and p4[1].tolist()[:6] == [2, 1, 1, 0, 0, 1]
    star = orbit_counts(nx.star_graph(3))
    assert star[0, [0, 2, 7]].tolist() == [3, 3, 1] and star[1, [0, 1, 6]].tolist() == [1, 2, 1]
    c4 = orbit_counts(nx.cycle_graph(4))
    assert (c4[:, [0, 1, 2, 8]] == np.array([2, 2, 1, 1])).all() and c4[:, [3, 4, 5, 14]].sum() == 0
    paw = nx.Graph([(0, 1), (1, 2), (2, 0), (2, 3)])
    assert orbit_counts(paw)[[3, 0, 2], [9, 10, 11]].tolist() == [1, 1, 1]
    diamond = nx.Graph([(0, 1), (1, 2), (2, 3), (3, 0), (0, 2)])
    o = orbit_counts(diamond)
    assert o[[1, 3], 12].tolist() == [1, 1] and o[[0, 2], 13].tolist() == [1, 1]


def test_orbit_counts_agree_with_networkx_on_random_graph():
    G = nx.gnp_random_graph(25, 0.25, seed=3)
    o = orbit_counts(G)
    tri = nx.triangles(G)
    assert o[:, 3].tolist() == [tri[v] for v in G]
    # every node lies on deg*(deg-1)/2 two-paths centred on it, induced (orbit 2) or closed (triangle)
    deg = np.array([d for _, d in G.degree()])
    assert (o[:, 2] + o[:, 3] == deg * (deg - 1) // 2).all()
    # each 4-clique is counted once per member
    k4 = sum(1 for c in nx.enumerate_all_cliques(G) if len(c) == 4)
    assert o[:, 14].sum() == 4 * k4


def test_kernels_known_values():
    assert gaussian_emd([1, 0], [0, 1]) == pytest.approx(math.exp(-0.5))  # W1 = 1
    assert gaussian_emd([1, 0, 0], [0, 0, 1], sigma=2.0) == pytest.approx(math.exp(-4 / 8))
    assert gaussian_tv([1, 0], [0, 1]) == pytest.approx(math.exp(-0.5))  # TV = 1
    assert gaussian_emd([0.5, 0.5], [0.5, 0.5, 0]) == 1.0
    # two point masses: MMD^2 = 2 - 2 k
    assert mmd([[1, 0]], [[0, 1]], "gaussian_emd") == pytest.approx(2 - 2 * math.exp(-0.5))


def test_graph_mmd_zero_on_identical_sets_and_positive_otherwise():
    a = [nx.cycle_graph(n) for n in range(5, 10)]
    b = [nx.star_graph(n) for n in range(4, 9)]
    assert degree_mmd(a, a) == pytest.approx(0, abs=1e-12)
    assert clustering_mmd(a, a) == pytest.approx(0, abs=1e-12)
    assert orbit_mmd(a, a) == pytest.approx(0, abs=1e-12)
    m = GraphMMD(a)
    m.update(b)
    s = m.compute()
    assert s.degree > 0.1 and s.orbit > 0


def test_nspdk_known_answers():
    v = nspdk_features(smiles_to_nx(["CCO"])[0])
    assert sum(x * x for x in v.values()) == pytest.approx(1.0)
    assert nspdk_mmd(smiles_to_nx(["C"]), smiles_to_nx(["O"])) == pytest.approx(2.0)  # orthogonal unit vectors
    a, b = smiles_to_nx(["CCO", "c1ccccc1", "CC(=O)N"]), smiles_to_nx(["OCC", "c1ccccc1", "NC(C)=O"])
    assert nspdk_mmd(a, b) == pytest.approx(0.0, abs=1e-12)  # same molecules, other atom orders
    assert nspdk_mmd(a, smiles_to_nx(["CCCCCC", "FC(F)F", "C#N"])) > 0.5


def test_uniqueness_novelty():
    assert uniqueness(["C", "C", "CC", "O"]) == 0.75
    assert novelty(["C", "C", "CC", "O"], {"C"}) == pytest.approx(2 / 3)


def test_decoding_valid_and_invalid_molecules():
    g = featurize_smiles(["CC=O", "C#N"], QM9_ATOMS, max_nodes=4)
    dec = decode_molecules(g.x, g.adj, QM9_ATOMS, g.mask)
    assert [d.valid_without_correction for d in dec] == [True, True]
    assert [d.smiles for d in dec] == ["CC=O", "C#N"]
    # carbon with 5 bonds: invalid as generated, corrected by lowering its highest-order bond
    x = torch.zeros(1, 4, 4)
    x[0, :, 0] = 1
    a = torch.zeros(1, 4, 4)
    for i, j, o in [(0, 1, 3), (0, 2, 1), (0, 3, 1)]:
        a[0, i, j] = a[0, j, i] = o
    d = decode_molecules(x, a, QM9_ATOMS)[0]
    assert not d.valid_without_correction and d.smiles == "C=C(C)C"
    # the raw line written to samples.smi evaluates the same way
    again = decode_molecule_from_smiles(d.raw_smiles)
    assert not again.valid_without_correction and again.smiles == d.smiles


def test_ammonium_from_four_bonds_is_valid_cation():
    x = torch.zeros(1, 5, 4)
    x[0, 0, 1] = 1  # N
    x[0, 1:, 0] = 1  # 4 C
    a = torch.zeros(1, 5, 5)
    a[0, 0, 1:] = a[0, 1:, 0] = 1
    d = decode_molecules(x, a, QM9_ATOMS)[0]
    assert d.valid_without_correction and d.smiles == "C[N+](C)(C)C"


def test_molecule_metrics_accumulator():
    m = MoleculeMetrics(train_smiles={"CCO"}, test_smiles=["CCO", "CCN"], with_fcd=False)
    m.update([decode_molecule_from_smiles(s) for s in ["CCO", "CCN", "CCN", "C(C)(C)(C)(C)C", ""]])
    s = m.compute()
    assert s.num_samples == 5 and s.validity_without_correction == pytest.approx(3 / 5)
    assert s.validity == pytest.approx(4 / 5) and s.uniqueness == pytest.approx(3 / 4)
    assert s.novelty == pytest.approx(2 / 3) and s.nspdk_mmd is not None


def test_graph_mmd_accumulates_like_the_pure_functions():
    from morphogen.graphs.metrics import GraphScores
    from morphogen.testing import assert_metric

    ref = [nx.cycle_graph(n) for n in range(5, 9)]
    one, two = [nx.star_graph(4), nx.path_graph(5)], [nx.complete_graph(4), nx.cycle_graph(6)]
    gen = one + two
    expected = GraphScores(len(gen), degree_mmd(ref, gen, "gaussian_emd"), clustering_mmd(ref, gen, "gaussian_emd"),
                           orbit_mmd(ref, gen))
    assert_metric(lambda: GraphMMD(ref), [(one,), (two,)], expected)
