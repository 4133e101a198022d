"""NSPDK against its reference, EDeN's ``vectorize(complexity=4, discrete=True)`` (what GDSS evaluates with).

Three kinds of check: kernel values derived by hand from EDeN's definition (the derivations are in the comments),
kernel values EDeN computed (eden-kernel 0.3.1350 at nbits = 30, the same under PYTHONHASHSEED 0 and 7) frozen
here, and, where ``eden-kernel`` is installed, a live comparison. The QM9-scale comparison, with the 16-bit
collisions, is benchmarks/graphs_nspdk_eden.py.

Notation: EDeN turns every edge into a vertex, so graph distance D is expanded distance 2D. A vertex's hash is
(label, degree); the radius-R neighbourhood hash of v is the running hash of the sorted vertex hashes at expanded
distance 0, 1, ..., 2R. For every node pair (v, u) at distance D <= d and radius R <= r that both
neighbourhoods reach, the pair feature hash(sorted(h_v, h_u), R, D) and the half feature hash(h_u, R, D) count
once in bucket (R, D); each bucket is scaled to unit norm, then the whole vector.
"""
import math
import random

import networkx as nx
import numpy as np
import pytest

from morphogen.molecules.convert import smiles_to_nx
from morphogen.molecules.nspdk import nspdk_features, nspdk_kernel, nspdk_mmd


def labelled(nodes: str, edges=()) -> nx.Graph:
    G = nx.Graph()
    for i, lab in enumerate(nodes):
        G.add_node(i, label=lab)
    for u, v, lab in edges:
        G.add_edge(u, v, label=lab)
    return G


def cycle(n: int) -> nx.Graph:
    G = nx.cycle_graph(n)
    nx.set_node_attributes(G, "C", "label")
    nx.set_edge_attributes(G, 1, "label")
    return G


def kernel(G, H, **kw) -> float:
    a, b = nspdk_features(G, **kw), nspdk_features(H, **kw)
    return sum(x * b.get(f, 0.0) for f, x in a.items())


A, AA = labelled("A"), labelled("AA")
AB, AB_DOUBLE = labelled("AB", [(0, 1, 1)]), labelled("AB", [(0, 1, 2)])
TRIANGLE = labelled("CCC", [(0, 1, 1), (1, 2, 1), (0, 2, 1)])
PATH = labelled("CCC", [(0, 1, 1), (1, 2, 1)])


def test_one_node():
    # bucket (0, 0) holds the pair (A, A) and the half feature A, once each: both 1/sqrt(2) after normalisation
    assert sorted(nspdk_features(A).values()) == pytest.approx([1 / math.sqrt(2)] * 2)
    # two disconnected copies double every count, which the normalisation removes
    assert kernel(A, AA) == pytest.approx(1.0)
    # the degree is part of a vertex's hash: A alone (degree 0) shares nothing with the A of A-B (degree 1)
    assert kernel(A, AB) == 0.0


def test_an_edge_by_hand():
    # A-B: buckets (R, D) = (0, 0) and (1, 0): four features (pair and half, of A and of B) of count 1 -> 1/2 each;
    # (0, 1) and (1, 1): the pair (A, B) counted from both ends (2), the half features of A and of B (1 each) ->
    # 2/sqrt(6), 1/sqrt(6), 1/sqrt(6); four unit buckets, so the whole vector is divided by 2
    want = sorted([1 / 4] * 8 + [1 / math.sqrt(6)] * 2 + [1 / (2 * math.sqrt(6))] * 4)
    assert sorted(nspdk_features(AB).values()) == pytest.approx(want)
    # a double bond changes the radius-1 neighbourhoods only: buckets (0, 0) and (0, 1) are shared, 2 of 4 -> 1/2
    assert kernel(AB, AB_DOUBLE) == pytest.approx(0.5)


def test_triangle_against_path_by_hand():
    # triangle: 4 buckets (R, D in {0, 1}), each the pair and the half feature with equal counts -> 1/sqrt(2) each,
    # whole vector / 2. Path C-C-C: 8 non-empty buckets (ends have radius 2, the middle only 1), whole vector
    # / sqrt(8). Shared: in (0, 0) the path's middle (C, degree 2) with counts ends 2 + 2, middle 1 + 1 ->
    # 2 * (1/sqrt(10)) * (1/sqrt(2)) = 1/sqrt(5); in (0, 1) the half feature of the middle seen from both ends,
    # count 2 of norm sqrt(4^2 + 2^2 + 2^2) -> (2/sqrt(24)) * (1/sqrt(2)) = 1/(2 sqrt(3)). Radius-1 neighbourhoods
    # differ (the path's ends have degree 1).
    want = (1 / math.sqrt(5) + 1 / (2 * math.sqrt(3))) / (2 * math.sqrt(8))
    assert kernel(TRIANGLE, PATH) == pytest.approx(want, rel=1e-12)
    # r = d = 0: the cosine of the (label, degree) histograms, {C1: 2, C2: 1} against {C2: 3}
    assert kernel(TRIANGLE, PATH, r=0, d=0) == pytest.approx(1 / math.sqrt(5))


def test_distance_cut_off_is_inclusive():
    # r = 0 on cycles: every node is (C, 2); a cycle of n nodes has nodes at every distance 0..floor(n / 2), and
    # each reachable distance bucket is the same pair/half couple. C8 reaches D = 4, C10 and C20 reach D = 5.
    assert kernel(cycle(8), cycle(10), r=0, d=4) == pytest.approx(1.0)
    assert kernel(cycle(8), cycle(10), r=0, d=5) == pytest.approx(math.sqrt(5 / 6))  # 5 shared of 5 and 6
    assert kernel(cycle(6), cycle(20), r=0, d=4) == pytest.approx(2 / math.sqrt(5))  # C6 stops at D = 3


def test_radius_cut_off_is_inclusive():
    # d = 0 on cycles: the radius-R neighbourhood of a node of C_n is the same for all n > 2R; in C8 the radius-4
    # neighbourhood closes the cycle (one vertex, not two, at expanded distance 8)
    assert kernel(cycle(9), cycle(20), r=4, d=0) == pytest.approx(1.0)
    assert kernel(cycle(8), cycle(20), r=4, d=0) == pytest.approx(0.8)  # radii 0..3 shared, 4 not
    assert kernel(cycle(8), cycle(20), r=3, d=0) == pytest.approx(1.0)


def test_isomorphic_graphs_have_the_same_vector():
    G = smiles_to_nx(["NC(=O)c1ccncc1"])[0]
    order = list(G.nodes())
    random.Random(0).shuffle(order)
    H = nx.Graph()
    H.add_nodes_from((f"atom {order.index(v)}", G.nodes[v]) for v in reversed(order))  # other ids, other order
    H.add_edges_from((f"atom {order.index(u)}", f"atom {order.index(v)}", d) for u, v, d in G.edges(data=True))
    a, b = nspdk_features(G), nspdk_features(H)
    assert a.keys() == b.keys() and all(a[f] == pytest.approx(b[f], abs=1e-15) for f in a)


def test_self_loops_are_ignored_as_eden_does():
    G = labelled("CCO", [(0, 1, 1), (1, 2, 1)])
    H = G.copy()
    H.add_edge(1, 1, label=1)
    assert nspdk_features(G) == nspdk_features(H)


#: EDeN's kernel matrix (upper triangle, row by row) of these molecules (``smiles_to_nx``), nbits = 30
EDEN_SMILES = ["CC(=O)O", "Oc1ccccc1", "C#CC#N", "OC1CC1", "CN(C)C=O", "c1ccoc1", "NC(=O)c1ccncc1", "FC(F)(F)C#N",
               "OCC(O)CO"]
EDEN_KERNEL_30 = [
    0.057905280571, 0.026693108448, 0.190762666703, 0.091544163499, 0.0, 0.071850398447, 0.0, 0.137086727039,
    0.109802852944, 0.312520852629, 0.054969690806, 0.264319717773, 0.213882762114, 0.034188699257, 0.160567620398,
    0.124836152498, 0.117041086304, 0.170674044401, 0.094849637056, 0.089606899694, 0.059120508892, 0.072285785543,
    0.184255332092, 0.198092467693, 0.039737890856, 0.234625477641, 0.06949049827, 0.044423263127, 0.016607393915,
    0.074462506216, 0.135068207016, 0.053264486867, 0.095306137955, 0.034522226872, 0.108981595424, 0.020619196084,
]


def _eden_matrix() -> np.ndarray:
    n = len(EDEN_SMILES)
    K = np.eye(n)
    K[np.triu_indices(n, 1)] = EDEN_KERNEL_30
    return np.maximum(K, K.T)


def test_frozen_eden_kernel():
    assert np.abs(nspdk_kernel(smiles_to_nx(EDEN_SMILES), nbits=30) - _eden_matrix()).max() < 1e-10
    # the kernel between two lists is the block of the kernel of their union
    a, b = smiles_to_nx(EDEN_SMILES[:4]), smiles_to_nx(EDEN_SMILES[4:])
    assert np.abs(nspdk_kernel(a, b, nbits=30) - _eden_matrix()[:4, 4:]).max() < 1e-10
    # GDSS's MMD between the first four and the last five, at nbits = 30, from EDeN's matrix
    K = _eden_matrix()
    want = K[:4, :4].mean() + K[4:, 4:].mean() - 2 * K[:4, 4:].mean()
    assert nspdk_mmd(a, b, nbits=30) == pytest.approx(want, abs=1e-10)


@pytest.mark.benchmark  # needs eden-kernel (not in any extra): run with -m benchmark where it is installed
def test_live_eden():
    """Where eden-kernel is installed: the same vectors (up to feature ids) and kernels as EDeN's, at nbits = 30."""
    pytest.importorskip("eden.graph")
    import warnings

    from scipy.sparse import csr_matrix

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from eden.graph import vectorize

    graphs = [A, AA, AB, AB_DOUBLE, TRIANGLE, PATH, *(cycle(n) for n in (6, 8, 9, 10, 20)),
              *smiles_to_nx(EDEN_SMILES + ["CC1=CC(=O)C=CN1", "OC1COC1C#N", "CC12CC1(C)C2O", "CCOC(=O)CC#C"])]
    for kw in ({"r": 4, "d": 4}, {"r": 0, "d": 5}, {"r": 3, "d": 1}):
        E = vectorize(graphs, discrete=True, nbits=30, **kw)
        _, cols = np.unique(E.indices, return_inverse=True)  # EDeN's 2**30 columns, compacted
        E = csr_matrix((E.data, cols, E.indptr), shape=(E.shape[0], cols.max() + 1))
        assert np.abs(nspdk_kernel(graphs, nbits=30, **kw) - (E @ E.T).toarray()).max() < 1e-12, kw
        for i, G in enumerate(graphs):
            ours = sorted(nspdk_features(G, nbits=30, **kw).values())
            assert ours == pytest.approx(np.sort(E[i].data), abs=1e-12)


def test_mmd_is_gdss_formula_on_the_kernel_matrix():
    # nspdk_mmd uses mean embeddings; GDSS averages the kernel matrices: the same number (16 bits, collisions too)
    graphs = smiles_to_nx(EDEN_SMILES) + [TRIANGLE, PATH, cycle(7)]
    K = nspdk_kernel(graphs)
    x, y = slice(0, 5), slice(5, len(graphs))
    want = K[x, x].mean() + K[y, y].mean() - 2 * K[x, y].mean()
    assert nspdk_mmd(graphs[x], graphs[y]) == pytest.approx(want, abs=1e-14)
