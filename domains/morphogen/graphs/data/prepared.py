"""Prepared datasets: a preset's featurised training graphs and its evaluation records in one safetensors file.

Featurising QM9 with RDKit takes about a minute and ZINC250k several; a prepared file holds the result, so that
training runs where RDKit, networkx and qm9pack are not installed (a GPU machine) and never featurises twice.
Reading one imports only torch and safetensors (no pickle anywhere).

Format (``morphogen_prepared = "graphs"``, format 1), tensors:

    x        (B, N, F) uint8 when every value is an integer in 0..255 (one-hot features), else float32
    adj      (B, N, N) uint8 likewise (bond orders 0..3, or 0/1), else float32
    mask     (B, N) bool, True for real nodes
    records  (L,) uint8: UTF-8 JSON ``{"names": [per row], "train_smiles": [...] | null, "reference": [...],
             "skipped": [...]}``; ``reference`` holds the test SMILES (molecules) or the test graphs as
             ``{"num_nodes": n, "edges": [[i, j], ...]}`` (generic graphs)

and the safetensors metadata ``{"morphogen_prepared": "graphs", "info": JSON}`` with ``info = {"format": 1,
"preset": ..., "dataset": ..., "kind": "molecule" | "graph", "feature_names": [...], "max_nodes": N,
"num_graphs": B, "options": {...}}``. The SMILES lists live in a tensor rather than in the metadata because the
safetensors header is limited to 100 MB (MOSES has 1.6 M training SMILES).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from morphogen.errors import PreparedDataError
from morphogen.graphs.data.dense import DenseGraphs
from morphogen.graphs.data.kind import GraphKind
from morphogen.utils.cache import cache_dir, file_fingerprint  # noqa: F401  (file_fingerprint: re-exported)

MARKER = "morphogen_prepared"
FORMAT = 1

@dataclass
class PreparedData:
    """A preset's data, ready to train and evaluate on.

    Attributes:
        train: the graphs to fit (dense tensors; ``names`` are SMILES for molecules).
        reference: the test set: SMILES (molecules), networkx graphs (generic graphs), or, when read from a
            prepared file without networkx, ``{"num_nodes": n, "edges": [[i, j], ...]}`` dicts.
        train_smiles: the whole training split's SMILES (for novelty), None for generic graphs.
        kind: molecules or generic graphs (:class:`GraphKind`; a plain ``"molecule"`` / ``"graph"`` is converted).
        dataset: the dataset name of the preset (``qm9``, ``community_small``, ...).
    """

    train: DenseGraphs
    reference: list
    train_smiles: list[str] | None
    kind: GraphKind
    dataset: str = ""

    def __post_init__(self):
        self.kind = GraphKind.parse(self.kind, "PreparedData")


def is_prepared(path: str | os.PathLike | None) -> bool:
    """True for a safetensors file whose metadata carries ``morphogen_prepared = "graphs"``."""
    if path is None:
        return False
    p = Path(path)
    if not p.is_file():
        return False
    with open(p, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            return False
        size = int.from_bytes(head, "little")
        if size <= 0 or size > 100_000_000:
            return False
        try:
            header = json.loads(fh.read(size))
        except (ValueError, UnicodeDecodeError):
            return False
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return isinstance(meta, dict) and meta.get(MARKER) == "graphs"


def _compact(t: torch.Tensor) -> torch.Tensor:
    """uint8 when every value is an integer in 0..255 (exact), else float32."""
    t = t.detach().cpu()
    if t.numel() and bool(((t >= 0) & (t <= 255) & (t == t.round())).all()):
        return t.to(torch.uint8).contiguous()
    return t.float().contiguous()


def _graph_record(g: Any) -> dict:
    if isinstance(g, dict):
        return {"num_nodes": int(g["num_nodes"]), "edges": [[int(i), int(j)] for i, j in g["edges"]]}
    import networkx as nx

    h = nx.convert_node_labels_to_integers(g)
    return {"num_nodes": h.number_of_nodes(), "edges": [[int(i), int(j)] for i, j in h.edges()]}


def write_prepared(prepared: PreparedData, path: str | os.PathLike, preset: str, options: dict | None = None) -> Path:
    """Write ``prepared`` to ``path`` (safetensors, written atomically); ``preset`` and ``options`` are recorded."""
    from safetensors.torch import save_file

    from morphogen.train.checkpoint import atomic_write

    g = prepared.train
    ref = (list(prepared.reference) if prepared.kind is GraphKind.MOLECULE
           else [_graph_record(r) for r in prepared.reference])
    records = {"names": list(g.names), "train_smiles": prepared.train_smiles, "reference": ref,
               "skipped": list(g.skipped)}
    blob = json.dumps(records).encode("utf-8")
    tensors = {"x": _compact(g.x), "adj": _compact(g.adj), "mask": g.mask.detach().cpu().bool().contiguous(),
               "records": torch.frombuffer(bytearray(blob), dtype=torch.uint8) if blob else torch.zeros(0, dtype=torch.uint8)}
    info = {"format": FORMAT, "preset": preset, "dataset": prepared.dataset, "kind": prepared.kind.value,
            "feature_names": list(g.feature_names), "max_nodes": g.max_nodes, "num_graphs": len(g),
            "options": dict(options or {})}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata={MARKER: "graphs", "info": json.dumps(info)}))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)  # the temporary file of atomic_write is private (0600); a dataset need not be
    return path


def read_prepared_info(path: str | os.PathLike) -> dict:
    """The ``info`` metadata of a prepared file (format, preset, dataset, kind, feature_names, max_nodes, ...)."""
    from safetensors import safe_open

    path = Path(path)
    if not is_prepared(path):
        raise PreparedDataError(f"{path}: not a prepared graphs file (a safetensors file with "
                                f"'{MARKER}: graphs' metadata, written by `morphogen graphs prepare`)")
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    try:
        info = json.loads(meta["info"])
    except (KeyError, ValueError) as err:
        raise PreparedDataError(f"{path}: unreadable 'info' metadata ({err!r})") from None
    if info.get("format") != FORMAT:
        raise PreparedDataError(f"{path}: prepared format {info.get('format')!r}, this version reads {FORMAT}")
    return info


def read_prepared(path: str | os.PathLike, networkx_reference: bool = False) -> PreparedData:
    """Read a prepared file. Features come back as float32 tensors. Generic reference graphs stay
    ``{"num_nodes", "edges"}`` dicts unless ``networkx_reference`` (which imports networkx)."""
    from safetensors.torch import load_file

    path = Path(path)
    info = read_prepared_info(path)
    t = load_file(str(path))
    missing = [k for k in ("x", "adj", "mask", "records") if k not in t]
    if missing:
        raise PreparedDataError(f"{path}: missing tensors {missing}")
    x, adj, mask = t["x"].float(), t["adj"].float(), t["mask"].bool()
    b, n = mask.shape
    if x.shape[:2] != (b, n) or adj.shape != (b, n, n):
        raise PreparedDataError(f"{path}: inconsistent shapes x {tuple(x.shape)}, adj {tuple(adj.shape)}, "
                                f"mask {tuple(mask.shape)}")
    try:
        rec = json.loads(bytes(t["records"].numpy()).decode("utf-8")) if t["records"].numel() else {}
    except (ValueError, UnicodeDecodeError) as err:
        raise PreparedDataError(f"{path}: unreadable 'records' tensor ({err})") from None
    names = rec.get("names") or [f"{path}: graph {i}" for i in range(b)]
    if len(names) != b:
        raise PreparedDataError(f"{path}: {len(names)} names for {b} graphs")
    graphs = DenseGraphs(x, adj, mask, names, list(info["feature_names"]), list(rec.get("skipped", [])))
    kind = GraphKind.parse(info.get("kind"), f"{path}: info")
    ref = list(rec.get("reference", []))
    if kind is GraphKind.GRAPH and networkx_reference:
        ref = _to_networkx(ref, path)
    return PreparedData(graphs, ref, rec.get("train_smiles"), kind, info.get("dataset", ""))


def _to_networkx(records: list[dict], path: Path) -> list:
    import networkx as nx

    out = []
    for k, r in enumerate(records):
        G = nx.Graph()
        try:
            G.add_nodes_from(range(int(r["num_nodes"])))
            G.add_edges_from((int(i), int(j)) for i, j in r["edges"])
        except (KeyError, TypeError, ValueError) as err:
            raise PreparedDataError(f"{path}: reference graph {k} is malformed ({err!r})") from None
        out.append(G)
    return out


def cache_path(preset: str, key: dict) -> Path | None:
    """The cache file of ``preset`` for ``key`` (a JSON-able dict of everything the featurised data depends on)."""
    root = cache_dir()
    if root is None:
        return None
    digest = hashlib.sha256(json.dumps({"format": FORMAT, **key}, sort_keys=True).encode()).hexdigest()[:16]
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in preset)
    return root / "graphs" / f"{safe}-{digest}.safetensors"
