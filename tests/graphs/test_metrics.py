"""Graph metrics on cases with known answers (the molecule metrics: tests/molecules)."""
import math

import networkx as nx
import numpy as np
import pytest

from morphogen.graphs.metrics import (
    GraphMMD, clustering_mmd, degree_mmd, gaussian_emd, gaussian_tv, mmd, orbit_counts, orbit_mmd,
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


def test_graph_mmd_accumulates_like_the_pure_functions():
    from morphogen.graphs.metrics import GraphScores
    from morphogen.testing import assert_metric

    ref = [nx.cycle_graph(n) for n in range(5, 9)]
    one, two = [nx.star_graph(4), nx.path_graph(5)], [nx.complete_graph(4), nx.cycle_graph(6)]
    gen = one + two
    expected = GraphScores(len(gen), degree_mmd(ref, gen, "gaussian_emd"), clustering_mmd(ref, gen, "gaussian_emd"),
                           orbit_mmd(ref, gen))
    assert_metric(lambda: GraphMMD(ref), [(one,), (two,)], expected)
