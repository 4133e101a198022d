"""Generic graph benchmarks: the JSON files converted from GDSS's pickles, the TU-Dortmund text format, the
community and grid generators, and the dense featurisation GDSS uses (one-hot node degree, ``init: deg``)."""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Sequence

import torch

from morphogen.graphs.data.dense import DenseGraphs
from morphogen.graphs.data.errors import GraphDataError, load_json, not_text
from morphogen.errors import NotFoundError
from morphogen.utils.padding import mask_from_counts


#: the most nodes a graph of a JSON file may have when the reader is given no tighter bound (the benchmarks have at
#: most a few hundred; the dense models hold N x N adjacencies)
MAX_GRAPH_NODES = 10_000


def read_graph_json(path: str | Path, max_nodes: int | None = None) -> list:
    """``{"graphs": [{"num_nodes": n, "edges": [[i, j], ...]}, ...]}`` -> list of ``networkx.Graph``.

    Errors name the file and the graph index (a count that is not an integer >= 1 or exceeds ``max_nodes``
    (default :data:`MAX_GRAPH_NODES`), node ids out of range, self-loops, malformed entries, no graphs)."""
    import networkx as nx

    path = Path(path)
    data = load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("graphs"), list):
        raise GraphDataError(str(path), "expected an object with a 'graphs' list")
    if not data["graphs"]:
        raise GraphDataError(str(path), "the 'graphs' list is empty")
    limit = int(max_nodes) if max_nodes is not None else MAX_GRAPH_NODES
    out = []
    for k, g in enumerate(data["graphs"]):
        where = f"{path}: graph {k}"
        try:
            n = g["num_nodes"]
            edges = [(e[0], e[1]) for e in g["edges"]]
        except (KeyError, TypeError, IndexError) as err:
            raise GraphDataError(where, f"needs 'num_nodes' and 'edges' as [[i, j], ...] ({err!r})") from None
        if isinstance(n, bool) or not isinstance(n, int):
            raise GraphDataError(where, f"num_nodes must be an integer, got {n!r}")
        if n < 1:
            raise GraphDataError(where, f"num_nodes must be >= 1, got {n}")
        if n > limit:
            raise GraphDataError(where, f"num_nodes={n} exceeds the limit of {limit} nodes"
                                        + (" (the preset's max_nodes)" if max_nodes is not None else ""))
        bad = [e for e in edges if any(isinstance(v, bool) or not isinstance(v, int) for v in e)]
        if bad:
            raise GraphDataError(where, f"edge {list(bad[0])} is not a pair of integer node ids")
        G = nx.Graph()
        G.add_nodes_from(range(n))
        for i, j in edges:
            if not (0 <= i < n and 0 <= j < n):
                raise GraphDataError(where, f"edge ({i}, {j}) names a node outside 0..{n - 1}")
            if i == j:
                raise GraphDataError(where, f"self-loop on node {i}")
            G.add_edge(i, j)
        out.append(G)
    return out


def write_graph_json(graphs: Sequence, path: str | Path) -> Path:
    """Write networkx graphs in the JSON format of :func:`read_graph_json` (nodes relabelled 0..n-1), atomically."""
    import networkx as nx

    from morphogen.utils.outputs import atomic_text

    rows = []
    for G in graphs:
        H = nx.convert_node_labels_to_integers(G)
        rows.append({"num_nodes": H.number_of_nodes(), "edges": [[int(i), int(j)] for i, j in H.edges()]})
    return atomic_text(path, json.dumps({"graphs": rows}))


def _read_ints(path: Path, per_line: int) -> list[list[int]]:
    try:
        return _read_int_lines(path, per_line)
    except UnicodeDecodeError as err:
        raise not_text(path, err) from None


def _read_int_lines(path: Path, per_line: int) -> list[list[int]]:
    out = []
    with open(path, encoding="utf-8-sig") as fh:
        for ln, line in enumerate(fh, 1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split(",")]
            if len(parts) != per_line:
                raise GraphDataError(f"{path}:{ln}", f"expected {per_line} comma-separated integers, got '{line.strip()}'")
            try:
                out.append([int(p) for p in parts])
            except ValueError:
                raise GraphDataError(f"{path}:{ln}", f"not an integer in '{line.strip()}'") from None
    return out


def read_tu_dataset(folder: str | Path, name: str = "ENZYMES") -> list:
    """A TU-Dortmund dataset (``{name}_A.txt`` edges with 1-based global node ids, ``{name}_graph_indicator.txt``)
    -> list of ``networkx.Graph`` with nodes 0..n-1 per graph and attribute ``label`` from ``_node_labels.txt``
    when present. An edge joining two graphs is an error naming its line."""
    import networkx as nx

    folder = Path(folder)
    ind_path, a_path = folder / f"{name}_graph_indicator.txt", folder / f"{name}_A.txt"
    for p in (ind_path, a_path):
        if not p.is_file():
            raise NotFoundError(f"TU dataset file not found: {p}")
    indicator = [r[0] for r in _read_ints(ind_path, 1)]
    if not indicator:
        raise GraphDataError(str(ind_path), "no nodes (the file is empty)")
    if min(indicator) < 1:
        raise GraphDataError(str(ind_path), f"graph id {min(indicator)}: ids start at 1")
    n_graphs = max(indicator)
    graphs = [nx.Graph() for _ in range(n_graphs)]
    local, counts = [], [0] * n_graphs
    for gid in indicator:
        local.append(counts[gid - 1])
        graphs[gid - 1].add_node(counts[gid - 1])
        counts[gid - 1] += 1
    lab_path = folder / f"{name}_node_labels.txt"
    if lab_path.is_file():
        labels = [r[0] for r in _read_ints(lab_path, 1)]
        if len(labels) != len(indicator):
            raise GraphDataError(str(lab_path), f"{len(labels)} labels for {len(indicator)} nodes")
        for v, (gid, lab) in enumerate(zip(indicator, labels)):
            graphs[gid - 1].nodes[local[v]]["label"] = lab
    try:
        with open(a_path, encoding="utf-8-sig") as fh:
            lines = fh.readlines()
    except UnicodeDecodeError as err:
        raise not_text(a_path, err) from None
    for ln, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            u, v = (int(p) for p in line.split(","))
        except ValueError:
            raise GraphDataError(f"{a_path}:{ln}", f"expected 'u, v' node ids, got '{line.strip()}'") from None
        if not (1 <= u <= len(indicator) and 1 <= v <= len(indicator)):
            raise GraphDataError(f"{a_path}:{ln}", f"node id out of range 1..{len(indicator)}")
        gu, gv = indicator[u - 1], indicator[v - 1]
        if gu != gv:
            raise GraphDataError(f"{a_path}:{ln}", f"edge ({u}, {v}) joins graph {gu} and graph {gv}")
        if u != v:
            graphs[gu - 1].add_edge(local[u - 1], local[v - 1])
    return graphs


def community_graph(num_communities: int = 2, num_nodes: int = 20, p_intra: float = 0.7, p_inter: float = 0.05,
                    rng: random.Random | None = None):
    """GraphRNN / GDSS community graph: ``num_communities`` Erdos-Renyi(p_intra) blocks of ``num_nodes //
    num_communities`` nodes, each pair of blocks joined by independent edges of probability ``p_inter`` (one
    forced bridge when none was drawn)."""
    import networkx as nx

    rng = rng or random.Random(0)
    size = num_nodes // num_communities
    G = nx.Graph()
    blocks = []
    for c in range(num_communities):
        nodes = list(range(c * size, (c + 1) * size))
        G.add_nodes_from(nodes)
        for a in range(len(nodes)):
            for b in range(a + 1, len(nodes)):
                if rng.random() < p_intra:
                    G.add_edge(nodes[a], nodes[b])
        blocks.append(nodes)
    for a in range(num_communities):
        for b in range(a + 1, num_communities):
            bridged = False
            for u in blocks[a]:
                for v in blocks[b]:
                    if rng.random() < p_inter:
                        G.add_edge(u, v)
                        bridged = True
            if not bridged:
                G.add_edge(blocks[a][0], blocks[b][0])
    return G


def community_small(count: int = 100, seed: int = 0) -> list:
    """The community-small benchmark recipe: two communities, 12 to 20 nodes in all."""
    rng = random.Random(seed)
    return [community_graph(2, rng.randint(12, 20), rng=rng) for _ in range(count)]


def grid_graphs(min_side: int = 10, max_side: int = 19) -> list:
    """The grid benchmark recipe: every 2-D grid with sides in [min_side, max_side] (100 graphs for 10..19)."""
    import networkx as nx

    return [nx.convert_node_labels_to_integers(nx.grid_2d_graph(i, j))
            for i in range(min_side, max_side + 1) for j in range(min_side, max_side + 1)]


def graphs_to_dense(graphs: Sequence, max_nodes: int | None = None, max_degree_feat: int | None = None,
                    names: Sequence[str] | None = None) -> DenseGraphs:
    """Dense tensors of networkx graphs with GDSS's ``init: deg`` node features (one-hot of the degree).

    Args:
        max_nodes: padded N (None: the largest graph; a larger graph is an error naming its index).
        max_degree_feat: F, the number of degree classes 0..F-1 (None: max degree + 1); a node of larger degree
            is an error (GDSS's ``max_feat_num``).
    """
    import networkx as nx

    sizes = [G.number_of_nodes() for G in graphs]
    n = max_nodes or max(sizes)
    degs = [max((d for _, d in G.degree()), default=0) for G in graphs]
    f = max_degree_feat or (max(degs) + 1)
    b = len(graphs)
    x, adj = torch.zeros(b, n, f), torch.zeros(b, n, n)
    for k, G in enumerate(graphs):
        where = names[k] if names else f"graph {k}"
        if sizes[k] > n:
            raise GraphDataError(where, f"{sizes[k]} nodes, more than max_nodes={n}")
        if degs[k] >= f:
            raise GraphDataError(where, f"a node of degree {degs[k]} does not fit {f} degree features")
        a = torch.as_tensor(nx.to_numpy_array(G, nodelist=list(G.nodes())), dtype=torch.float32)
        a = (a > 0).float()
        a.fill_diagonal_(0)
        m = sizes[k]
        adj[k, :m, :m] = a
        x[k, torch.arange(m), a.sum(1).long()] = 1.0
    mask = mask_from_counts(torch.tensor(sizes, dtype=torch.long), n)
    return DenseGraphs(x, adj, mask, list(names) if names else [f"graph {k}" for k in range(b)],
                       [f"degree={d}" for d in range(f)])


def dense_to_graphs(adj, mask=None, threshold: float = 0.5, remove_isolates: bool = True) -> list:
    """Quantise sampled adjacencies (B, N, N) at ``threshold`` into networkx graphs, as GDSS does: self-loops and
    (by default) isolated nodes removed, an empty result kept as a one-node graph."""
    import networkx as nx
    import numpy as np

    a = (adj.detach().cpu() >= threshold).numpy()
    out = []
    for k in range(a.shape[0]):
        m = int(mask[k].sum()) if mask is not None else a.shape[1]
        G = nx.from_numpy_array(np.triu(a[k, :m, :m], 1).astype(np.int64))
        G = nx.Graph(G)
        if remove_isolates:
            G.remove_nodes_from(list(nx.isolates(G)))
        if G.number_of_nodes() == 0:
            G.add_node(0)
        out.append(G)
    return out
