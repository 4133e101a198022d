"""A preset's dataset, read the way GDSS reads it: from a prepared file, the featurisation cache or the source.

The ``data:`` section of a graphs preset (:class:`GraphDataSpec`) names the benchmark and its padding; this module
turns it into :class:`~morphogen.graphs.data.prepared.PreparedData` (training graphs as dense tensors, the test
records, the training SMILES for novelty) for training, evaluation and notebooks.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from morphogen.errors import NotFoundError, PreparedDataError

if TYPE_CHECKING:
    from morphogen.bundle.preset import Preset
    from morphogen.graphs.data.prepared import PreparedData

MOLECULE_SETS = ("qm9", "zinc250k", "moses")
CACHED_SETS = ("qm9", "zinc250k")  # featurised once, then read from $MORPHOGEN_CACHE
GENERIC_FILES = {"community_small": "community_small.json", "ego_small": "ego_small.json", "grid": "grid.json",
                 "enzymes": "enzymes.json"}
USER_SETS = ("pyg",)  # generic graphs the user gives with --data (any PyG InMemoryDataset, a graphs.json, TU files)
DATASETS = (*MOLECULE_SETS, *GENERIC_FILES, *USER_SETS)


@dataclass(frozen=True)
class GraphDataSpec:
    """The ``data:`` section of a graphs preset.

    Attributes:
        name: the benchmark (``qm9``, ``zinc250k``, ``moses``, ``community_small``, ``ego_small``, ``grid``,
            ``enzymes``), or ``pyg``: generic graphs given by ``--data`` (a PyG ``InMemoryDataset``, see
            :mod:`morphogen.graphs.data.pyg`, or a graphs.json / TU folder).
        max_nodes: N, the padding of every graph (molecules: heavy atoms; generic graphs: None = the largest
            training graph).
        atoms: the element of each node-feature column (molecules; documentation of the featurisation).
        test_index: GDSS's test-index file of the molecule sets, under ``<data root>/graphs/molecules/``.
        test_index_path: that file given by path instead.
        max_degree_feat: generic graphs: one-hot degree features 0 .. max_degree_feat - 1 (None: max degree + 1).
        test_split: generic graphs: the first ``test_split`` of the file is the test set (GDSS).
        node_features: generic graphs: ``degree`` (GDSS's one-hot degree) or ``x`` (a PyG dataset's own ``x``).
    """

    name: str
    max_nodes: int | None = None
    atoms: list[str] | None = None
    test_index: str | None = None
    test_index_path: str | None = None
    max_degree_feat: int | None = None
    test_split: float = 0.2
    node_features: str = "degree"

    @classmethod
    def of(cls, preset: "Preset") -> "GraphDataSpec":
        """The typed data section of ``preset``; an unknown key, a wrong type or an unknown benchmark is an error
        naming the preset file."""
        from morphogen.utils.typed import TypedConfigError, from_mapping

        where = f"{preset.source or preset.name}: data"
        spec = from_mapping(cls, preset.data, where)
        if spec.name not in DATASETS:
            raise TypedConfigError(f"{where}.name: unknown dataset '{spec.name}' (known: {list(DATASETS)})")
        if spec.name in CACHED_SETS and not (spec.test_index or spec.test_index_path):
            raise TypedConfigError(f"{where}: {spec.name} needs test_index (GDSS's test indices)")
        if spec.node_features not in ("degree", "x") or (spec.molecules and spec.node_features != "degree"):
            raise TypedConfigError(f"{where}.node_features: '{spec.node_features}' (generic graphs: degree or x; "
                                   "molecules: their atom types)")
        return spec

    @property
    def molecules(self) -> bool:
        return self.name in MOLECULE_SETS

    def test_index_file(self) -> Path:
        return Path(self.test_index_path or data_root() / "graphs" / "molecules" / str(self.test_index))


def data_root() -> Path:
    """The real-data folder (see :func:`morphogen.utils.resources.data_root`)."""
    from morphogen.utils.resources import data_root as _root

    return _root()


def prepare_data(preset: "Preset", data: str | os.PathLike | None = None, limit: int | None = None,
                 skip_invalid: bool = False, networkx_reference: bool = True) -> "PreparedData":
    """Load the preset's dataset with its GDSS split: from a prepared file (``data`` written by
    :func:`write_prepared_dataset`; needs neither RDKit nor networkx), from the featurisation cache, or from the
    source (``data`` when given, else qm9pack / the bundled files).

    ``limit`` keeps the first N training graphs (the novelty SMILES and the reference stay whole). With
    ``networkx_reference=False`` the reference graphs of a prepared generic-graph file stay edge-list dicts."""
    from morphogen.graphs.data.prepared import is_prepared, read_prepared

    spec = GraphDataSpec.of(preset)
    if is_prepared(data):
        prepared = read_prepared(data, networkx_reference)
        _check_prepared(prepared, spec, preset, data)
    elif spec.name in CACHED_SETS:
        prepared = _cached_molecules(preset, spec, data, skip_invalid, networkx_reference)
    else:
        prepared = _load_source(spec, data, limit, skip_invalid)
    if limit is not None and limit < len(prepared.train):
        prepared.train = prepared.train.subset(list(range(limit)))
    return prepared


def _check_prepared(prepared: "PreparedData", spec: GraphDataSpec, preset: "Preset", path) -> None:
    if prepared.dataset and prepared.dataset != spec.name:
        raise PreparedDataError(f"{path}: prepared for dataset '{prepared.dataset}', but the preset trains on "
                                f"'{spec.name}'")
    if spec.max_nodes is not None and prepared.train.max_nodes != spec.max_nodes:
        raise PreparedDataError(f"{path}: graphs padded to {prepared.train.max_nodes} nodes, the preset asks for "
                                f"max_nodes={spec.max_nodes}")
    f = (preset.denoiser.get("args") or {}).get("x_net", {}).get("args", {}).get("num_features")
    if f is not None and len(prepared.train.feature_names) != int(f):
        raise PreparedDataError(f"{path}: {len(prepared.train.feature_names)} node features "
                                f"{prepared.train.feature_names}, the preset's network expects {f}")


def _cached_molecules(preset: "Preset", spec: GraphDataSpec, data, skip_invalid: bool,
                      networkx_reference: bool) -> "PreparedData":
    """QM9 / ZINC250k featurised once per (data section, source files, test index, skip_invalid), then read back
    from ``$MORPHOGEN_CACHE/graphs/`` (see :mod:`morphogen.graphs.data.prepared`)."""
    from morphogen.molecules.qm9 import qm9pack_files
    from morphogen.graphs.data.prepared import cache_path, file_fingerprint, is_prepared, read_prepared, write_prepared

    if spec.name == "zinc250k" and data is None:
        raise NotFoundError("ZINC250k is not bundled: pass --data 250k_rndm_zinc_drugs_clean_3.csv")
    sources = qm9pack_files() if data is None else [Path(data)]
    folders = [str(f) for f in sources if f.is_dir()]
    if folders:
        from morphogen.graphs.data.errors import GraphDataError

        raise GraphDataError(folders[0], f"is a folder; {spec.name} is read from one file")
    missing = [str(f) for f in sources if not f.is_file()]
    if missing:
        raise NotFoundError(f"{spec.name} source not found: {missing}")
    # the key holds the preset's data section as written (as before the typed section: existing caches stay valid)
    key = {"dataset": dict(preset.data), "skip_invalid": bool(skip_invalid),
           "sources": [file_fingerprint(f) for f in sources], "test_index": file_fingerprint(spec.test_index_file())}
    path = cache_path(spec.name, key)
    if path is not None and is_prepared(path):
        print(f"reading featurised {spec.name} from the cache {path} (set MORPHOGEN_CACHE=off to featurise again)")
        return read_prepared(path, networkx_reference)
    prepared = _load_source(spec, data, None, skip_invalid)
    if path is not None:
        try:
            write_prepared(prepared, path, spec.name, {"skip_invalid": bool(skip_invalid),
                                                      "source": str(data or "qm9pack")})
            print(f"cached featurised {spec.name} in {path} (MORPHOGEN_CACHE to move it, =off to disable)")
        except OSError as err:
            print(f"could not write the featurisation cache {path}: {err}")
    return prepared


def _load_source(spec: GraphDataSpec, data=None, limit: int | None = None,
                 skip_invalid: bool = False) -> "PreparedData":
    """Read and featurise the dataset from its source files (:mod:`morphogen.molecules` for molecules, networkx
    for graphs)."""
    from morphogen.graphs.data.dense import DenseGraphs
    from morphogen.graphs.data.errors import GraphDataError
    from morphogen.graphs.data.generic import graphs_to_dense, read_graph_json, read_tu_dataset
    from morphogen.graphs.data.kind import GraphKind
    from morphogen.graphs.data.prepared import PreparedData

    name = spec.name
    root = data_root() / "graphs"
    if spec.molecules:
        from morphogen.graphs.data.splits import gdss_split
        from morphogen.molecules import load_moses, load_qm9, load_zinc250k

        if name == "qm9":
            ms = load_qm9(data, skip_invalid=skip_invalid)
        elif name == "zinc250k":
            if data is None:
                raise NotFoundError("ZINC250k is not bundled: pass --data 250k_rndm_zinc_drugs_clean_3.csv")
            ms = load_zinc250k(data, skip_invalid=skip_invalid)
        else:
            folder = data or root / "molecules" / "moses"
            ms = load_moses(folder, "train", skip_invalid=skip_invalid, limit=limit)
            test = load_moses(folder, "test", skip_invalid=True, limit=10000)
            return PreparedData(DenseGraphs.from_molecules(ms.molecules), list(test.molecules.smiles),
                                list(ms.molecules.smiles), GraphKind.MOLECULE, name)
        split = gdss_split(ms, spec.test_index_file())
        keep = split.train if limit is None else split.train[:limit]
        train = DenseGraphs.from_molecules(ms.molecules.subset(keep))
        smiles = ms.molecules.smiles
        return PreparedData(train, [smiles[i] for i in split.test.tolist()], [smiles[i] for i in split.train.tolist()],
                            GraphKind.MOLECULE, name)
    if name in USER_SETS and data is None:
        raise NotFoundError(f"the {name} preset trains on the graphs given by --data: a PyG dataset folder (with "
                            "processed/data.pt) or its .pt file, a graphs.json, or a TU folder")
    path = Path(data) if data else root / "generic" / GENERIC_FILES[name]
    from morphogen.graphs.data.pyg import is_pyg_dataset

    if is_pyg_dataset(path):
        return _pyg_source(spec, path)
    if spec.node_features != "degree":
        raise GraphDataError(str(path), f"node_features: {spec.node_features} needs a PyG dataset with x")
    graphs = read_tu_dataset(path) if path.is_dir() else read_graph_json(path, spec.max_nodes)
    n_test = int(spec.test_split * len(graphs))
    test, train = graphs[:n_test], graphs[n_test:]  # GDSS: the first test_split of the list is the test set
    dense = graphs_to_dense(train, spec.max_nodes, spec.max_degree_feat)
    return PreparedData(dense, test, None, GraphKind.GRAPH, name)


def _pyg_source(spec: GraphDataSpec, path: Path) -> "PreparedData":
    """A PyG ``InMemoryDataset`` with GDSS's split of a graph list (the first ``test_split`` is the test set)."""
    from morphogen.graphs.data.errors import GraphDataError
    from morphogen.graphs.data.kind import GraphKind
    from morphogen.graphs.data.prepared import PreparedData
    from morphogen.graphs.data.pyg import pyg_dataset_file, pyg_to_dense, pyg_to_networkx, read_pyg_dataset

    file = pyg_dataset_file(path)
    graphs = read_pyg_dataset(file)
    n_test = int(spec.test_split * len(graphs))
    if n_test >= len(graphs):
        raise GraphDataError(str(file), f"{len(graphs)} graphs leave none for training after the test split "
                                        f"({spec.test_split})")
    dense = pyg_to_dense(graphs[n_test:], spec.max_nodes, spec.node_features, spec.max_degree_feat, str(file),
                         offset=n_test)
    return PreparedData(dense, pyg_to_networkx(graphs[:n_test], str(file)), None, GraphKind.GRAPH, spec.name)


def write_prepared_dataset(preset: "Preset", out: str | os.PathLike, data: str | os.PathLike | None = None,
                           limit: int | None = None, skip_invalid: bool = False) -> Path:
    """Featurise the preset's training data (and its evaluation records) into one safetensors file that
    ``train --data OUT`` reads without RDKit, networkx or qm9pack."""
    from morphogen.graphs.data.prepared import write_prepared

    prepared = prepare_data(preset, data, limit, skip_invalid)
    report_skipped(prepared)
    opts = {"source": str(data) if data else "default", "limit": limit, "skip_invalid": bool(skip_invalid)}
    return write_prepared(prepared, out, preset.name, opts)


def report_skipped(prepared: "PreparedData") -> None:
    """Print how many training records ``--skip-invalid`` left out, and the first of them (nothing if none)."""
    g = prepared.train
    if g.skipped:
        print(f"skipped {len(g.skipped)} invalid records (--skip-invalid; {len(g)} training graphs kept; first: {g.skipped[0]})")
