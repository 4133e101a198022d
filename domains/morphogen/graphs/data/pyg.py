"""PyTorch Geometric datasets as training data: a processed ``InMemoryDataset`` on disk -> ``Data`` objects -> the
dense padded tensors every graph model here trains on (:class:`~morphogen.graphs.data.dense.DenseGraphs`).

What PyG writes: ``InMemoryDataset.save`` stores one ``torch.save`` file (``processed/data.pt`` for a
``TUDataset(root, name)``: ``root/name/processed/data.pt``) holding ``(data dict, slices, data class)``; a
``TUDataset`` adds its ``sizes`` dict; files from PyG < 2.4 hold ``(Data, slices)``. The file is read with
``torch.load(weights_only=True)``, which refuses any pickled object outside tensors, plain containers and the PyG
classes PyG itself allowlists on import -- so reading a dataset runs no code from the file. PyG's own loader falls
back to a full unpickling when that fails; this reader does not, unless the caller passes ``allow_pickle=True``
for a file they trust (a full unpickling can run arbitrary code). The command line never does.

``torch_geometric`` is imported only here, on first use (it takes seconds, and its import emits a
DeprecationWarning from torch, which is filtered).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Sequence

import torch

from morphogen.errors import NotFoundError
from morphogen.graphs.data.dense import DenseGraphs
from morphogen.graphs.data.errors import GraphDataError
from morphogen.utils.padding import mask_from_counts

#: files of a processed folder that are not the dataset (PyG records its pre-transform and pre-filter there)
_NOT_DATA = {"pre_transform.pt", "pre_filter.pt"}
NODE_FEATURES = ("degree", "x")


def import_pyg():
    """``torch_geometric``, imported once with its import-time DeprecationWarning filtered."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import torch_geometric
        import torch_geometric.data  # registers PyG's classes for torch.load(weights_only=True)
    return torch_geometric


def pyg_dataset_file(path: str | os.PathLike) -> Path | None:
    """The ``torch.save`` file of a PyG dataset at ``path``: the file itself (``.pt``), or in a dataset folder
    ``processed/data.pt`` (``processed_cleaned/`` for cleaned TU datasets), ``data.pt``, or the one ``.pt`` file of
    ``processed/``. None when ``path`` is not laid out as a PyG dataset. Several candidate files are an error."""
    p = Path(path)
    if p.is_file():
        return p if p.suffix == ".pt" else None
    if not p.is_dir():
        return None
    for sub in ("processed", "processed_cleaned", "."):
        folder = p / sub
        if (folder / "data.pt").is_file():
            return folder / "data.pt"
        if folder.is_dir() and sub != ".":
            found = sorted(f for f in folder.glob("*.pt") if f.name not in _NOT_DATA)
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise GraphDataError(str(folder), f"holds several datasets ({[f.name for f in found]}); pass the "
                                                  "file to read")
    return None


def is_pyg_dataset(path: str | os.PathLike | None) -> bool:
    """Whether ``path`` is a PyG dataset file or folder (see :func:`pyg_dataset_file`)."""
    return path is not None and pyg_dataset_file(path) is not None


def read_pyg_dataset(path: str | os.PathLike, *, allow_pickle: bool = False) -> list:
    """The graphs of a processed PyG ``InMemoryDataset`` (a ``.pt`` file or a dataset folder, see
    :func:`pyg_dataset_file`) as a list of ``torch_geometric.data.Data``.

    Read with ``torch.load(weights_only=True)``: nothing in the file is executed. A file that needs a full
    unpickling (older PyG versions, custom classes) is an error, unless ``allow_pickle=True``: pass that only for a
    file you trust, since unpickling can run arbitrary code. Re-saving such a dataset once with
    ``InMemoryDataset.save(list(dataset), path)`` makes it readable without it."""
    import pickle

    file = pyg_dataset_file(path)
    if file is None:
        if not Path(path).exists():
            raise NotFoundError(f"PyG dataset not found: {path}")
        raise GraphDataError(str(path), "is not a PyG dataset (expected a .pt file written by InMemoryDataset.save, "
                                        "or a folder with processed/data.pt)")
    import_pyg()
    from torch_geometric.data import Data, InMemoryDataset
    from torch_geometric.data.data import BaseData

    try:
        out = torch.load(file, map_location="cpu", weights_only=not allow_pickle)
    except pickle.UnpicklingError as err:
        import re

        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(err))
        what = f"it holds {found.group(1)}" if found else "torch.load(weights_only=True) refused it"
        raise GraphDataError(str(file), f"cannot be read without unpickling arbitrary objects ({what}); re-save it "
                                        "with InMemoryDataset.save(list(dataset), path), or, for a file you trust, "
                                        "read_pyg_dataset(path, allow_pickle=True)") from None
    except (RuntimeError, EOFError, OSError) as err:
        raise GraphDataError(str(file), f"is not a readable torch.save file ({err})") from None
    if not isinstance(out, tuple) or not 2 <= len(out) <= 4 or not isinstance(out[1], dict):
        raise GraphDataError(str(file), "expected (data, slices[, sizes][, data class]) as InMemoryDataset.save "
                                        f"writes, got {type(out).__name__}")
    data, slices = out[0], out[1]
    cls = next((o for o in out[2:] if isinstance(o, type) and issubclass(o, BaseData)), Data)
    if isinstance(data, dict):
        data = cls.from_dict(data)
    if not isinstance(data, Data):
        raise GraphDataError(str(file), f"holds {type(data).__name__} records; only homogeneous graphs (Data) are "
                                        "read")
    ds = InMemoryDataset()  # no root: nothing downloaded or processed, only indexed
    ds.data, ds.slices = data, slices
    graphs = [ds[i] for i in range(len(ds))]
    if not graphs:
        raise GraphDataError(str(file), "holds no graphs")
    return graphs


def _edges(g, n: int, where: str) -> torch.Tensor:
    """(2, E) long edge_index of one Data, checked against its node count."""
    ei = getattr(g, "edge_index", None)
    if ei is None:
        return torch.zeros(2, 0, dtype=torch.long)
    ei = torch.as_tensor(ei)
    if ei.dim() != 2 or ei.shape[0] != 2:
        raise GraphDataError(where, f"edge_index must have shape (2, E), got {tuple(ei.shape)}")
    if ei.is_floating_point() or ei.dtype == torch.bool:
        raise GraphDataError(where, f"edge_index must hold integer node ids, got {ei.dtype}")
    if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= n):
        raise GraphDataError(where, f"edge_index names a node outside 0..{n - 1}")
    return ei.long()


def pyg_to_dense(graphs: Sequence, max_nodes: int | None = None, node_features: str = "degree",
                 max_degree_feat: int | None = None, where: str = "PyG dataset", offset: int = 0) -> DenseGraphs:
    """``Data`` graphs -> :class:`DenseGraphs`, GDSS's featurisation of generic graphs.

    The adjacency is made undirected (an edge in either direction joins the pair; self-loops and repeated edges
    dropped), as GDSS models undirected graphs. Node features: ``"degree"`` (GDSS's ``init: deg``, one-hot of the
    degree, 0 .. ``max_degree_feat`` - 1, default max degree + 1) or ``"x"`` (the graphs' own ``x``, one row per
    node, the same width in every graph; e.g. a TU dataset's one-hot node labels). ``max_nodes``: padded N (None:
    the largest graph). Errors and ``names`` give ``where`` and the graph's index (+ ``offset``: its place in the
    whole file when ``graphs`` is a slice of it).
    """
    if node_features not in NODE_FEATURES:
        raise ValueError(f"node_features must be one of {NODE_FEATURES}, got {node_features!r}")
    sizes = []
    for k, g in enumerate(graphs):
        n = g.num_nodes
        if n is None or int(n) < 1:
            raise GraphDataError(f"{where}: graph {k + offset}", f"needs at least one node (num_nodes={n})")
        sizes.append(int(n))
    n_pad = int(max_nodes) if max_nodes is not None else max(sizes)
    b = len(graphs)
    adj = torch.zeros(b, n_pad, n_pad)
    for k, (g, m) in enumerate(zip(graphs, sizes)):
        if m > n_pad:
            raise GraphDataError(f"{where}: graph {k + offset}", f"{m} nodes, more than max_nodes={n_pad}")
        ei = _edges(g, m, f"{where}: graph {k + offset}")
        adj[k, ei[0], ei[1]] = 1.0
        adj[k, ei[1], ei[0]] = 1.0
    adj.diagonal(dim1=1, dim2=2).zero_()
    mask = mask_from_counts(torch.tensor(sizes, dtype=torch.long), n_pad)
    if node_features == "degree":
        deg = adj.sum(-1).long()
        f = int(max_degree_feat) if max_degree_feat is not None else int(deg.max()) + 1
        worst = deg.max(1).values
        bad = (worst >= f).nonzero().flatten()
        if bad.numel():
            k = int(bad[0])
            raise GraphDataError(f"{where}: graph {k + offset}",
                                 f"a node of degree {int(worst[k])} does not fit {f} degree features (max_degree_feat)")
        x = torch.nn.functional.one_hot(deg, f).float() * mask[..., None]
        names = [f"degree={d}" for d in range(f)]
    else:
        widths = set()
        for k, g in enumerate(graphs):
            xk = getattr(g, "x", None)
            if xk is None:
                raise GraphDataError(f"{where}: graph {k + offset}", "has no node features x (node_features: x)")
            if xk.dim() != 2 or xk.shape[0] != sizes[k]:
                raise GraphDataError(f"{where}: graph {k + offset}",
                                     f"x must have shape (num_nodes={sizes[k]}, F), got {tuple(xk.shape)}")
            widths.add(int(xk.shape[1]))
        if len(widths) != 1:
            raise GraphDataError(where, f"the graphs' x have different widths {sorted(widths)}")
        f = widths.pop()
        x = torch.zeros(b, n_pad, f)
        for k, g in enumerate(graphs):
            x[k, :sizes[k]] = g.x.float()
        if not torch.isfinite(x).all():
            raise GraphDataError(where, "x holds NaN or infinite values")
        names = [f"x[{j}]" for j in range(f)]
    return DenseGraphs(x, adj, mask, [f"{where}: graph {k + offset}" for k in range(b)], names)


def pyg_to_networkx(graphs: Sequence, where: str = "PyG dataset") -> list:
    """Undirected ``networkx.Graph`` structures (nodes 0..n-1, no attributes) of ``Data`` graphs, the test graphs
    the generic-graph MMDs read."""
    import networkx as nx

    out = []
    for k, g in enumerate(graphs):
        n = int(g.num_nodes)
        G = nx.Graph()
        G.add_nodes_from(range(n))
        ei = _edges(g, n, f"{where}: graph {k}")
        G.add_edges_from((int(i), int(j)) for i, j in ei.t().tolist() if i != j)
        out.append(G)
    return out
