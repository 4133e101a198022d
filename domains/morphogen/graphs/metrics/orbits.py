"""Node orbit counts of graphlets with 2 to 4 nodes (the 15 orbits ORCA counts with ``node 4``), in pure Python:
connected induced 3- and 4-node subgraphs are enumerated once each (ESU, Wernicke 2006) and classified.

Orbit numbering (Przulj 2007, ORCA): 0 edge; 1 path-3 end, 2 path-3 middle; 3 triangle; 4 path-4 end,
5 path-4 inner; 6 star leaf, 7 star centre; 8 4-cycle; 9 paw pendant, 10 paw degree-2, 11 paw centre;
12 diamond degree-2, 13 diamond degree-3; 14 4-clique.
"""
from __future__ import annotations

import numpy as np

NUM_ORBITS = 15


def _classify(nodes, nbrs, counts):
    deg = [sum(1 for w in nodes if w != v and w in nbrs[v]) for v in nodes]
    e = sum(deg) // 2
    if len(nodes) == 3:
        for v, dv in zip(nodes, deg):
            counts[v, 3 if e == 3 else (2 if dv == 2 else 1)] += 1
        return
    sd = sorted(deg)
    for v, dv in zip(nodes, deg):
        if e == 3:
            o = (7 if dv == 3 else 6) if sd == [1, 1, 1, 3] else (5 if dv == 2 else 4)
        elif e == 4:
            o = 8 if sd == [2, 2, 2, 2] else {1: 9, 2: 10, 3: 11}[dv]
        elif e == 5:
            o = 13 if dv == 3 else 12
        else:
            o = 14
        counts[v, o] += 1


def orbit_counts(G) -> np.ndarray:
    """(n, 15) int array: how many times each node (in ``G.nodes()`` order) occupies each orbit."""
    nodes = list(G.nodes())
    index = {v: i for i, v in enumerate(nodes)}
    nbrs = [set(index[w] for w in G.neighbors(v) if w != v) for v in nodes]
    n = len(nodes)
    counts = np.zeros((n, NUM_ORBITS), dtype=np.int64)
    for v in range(n):
        counts[v, 0] = len(nbrs[v])

    # ESU: extend sets rooted at their smallest vertex with exclusive neighbours larger than the root
    def extend(sub, ext, root, sub_nbhd):
        if len(sub) >= 3:
            _classify(sub, nbrs, counts)
        if len(sub) == 4:
            return
        ext = list(ext)
        while ext:
            w = ext.pop()
            new_ext = set(ext)
            for u in nbrs[w]:
                if u > root and u not in sub_nbhd and u not in sub:
                    new_ext.add(u)
            extend(sub + [w], new_ext, root, sub_nbhd | nbrs[w] | {w})

    for v in range(n):
        extend([v], {u for u in nbrs[v] if u > v}, v, nbrs[v] | {v})
    return counts
