"""Presets -> data, model, training, sampling and evaluation: what the ``morphogen graphs`` commands call."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from morphogen.graphs.data.prepared import PreparedData
    from morphogen.utils.padding import CountHistogram

PRESET_DIR = Path(__file__).parent / "presets"
CHECKPOINT_DIR = Path(__file__).parent / "checkpoints"
MOLECULE_SETS = ("qm9", "zinc250k", "moses")
CACHED_SETS = ("qm9", "zinc250k")  # featurised once, then read from $MORPHOGEN_CACHE
GENERIC_FILES = {"community_small": "community_small.json", "ego_small": "ego_small.json", "grid": "grid.json",
                 "enzymes": "enzymes.json"}


def __getattr__(name: str):
    if name == "PreparedData":  # moved to morphogen.graphs.data.prepared; kept importable from here
        from morphogen.graphs.data.prepared import PreparedData

        return PreparedData
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def data_root() -> Path:
    """The real-data folder (see :func:`morphogen.utils.resources.data_root`)."""
    from morphogen.utils.resources import data_root as _root

    return _root()


def load_preset(name_or_path: str) -> dict:
    from morphogen.utils.resources import load_preset as _load

    return _load(name_or_path, PRESET_DIR, "graphs")


def prepare_data(preset: dict, data: str | None = None, limit: int | None = None, skip_invalid: bool = False,
                 networkx_reference: bool = True) -> PreparedData:
    """Load the preset's dataset with its GDSS split: from a prepared file (``data`` written by
    :func:`write_prepared_dataset`; needs neither RDKit nor networkx), from the featurisation cache, or from the
    source (``data`` when given, else qm9pack / the bundled files).

    ``limit`` keeps the first N training graphs (the novelty SMILES and the reference stay whole). With
    ``networkx_reference=False`` the reference graphs of a prepared generic-graph file stay edge-list dicts."""
    from morphogen.graphs.data.prepared import is_prepared_file, read_prepared

    name = preset["dataset"]["name"]
    if is_prepared_file(data):
        prepared = read_prepared(data, networkx_reference)
        _check_prepared(prepared, preset, data)
    elif name in CACHED_SETS:
        prepared = _cached_molecules(preset, data, skip_invalid, networkx_reference)
    else:
        return _load_source(preset, data, limit, skip_invalid)
    if limit is not None and limit < len(prepared.train):
        prepared.train = prepared.train.subset(list(range(limit)))
    return prepared


def _check_prepared(prepared: PreparedData, preset: dict, path) -> None:
    from morphogen.graphs.data.prepared import PreparedDataError

    ds = preset["dataset"]
    if prepared.dataset and prepared.dataset != ds["name"]:
        raise PreparedDataError(f"{path}: prepared for dataset '{prepared.dataset}', but the preset trains on "
                                f"'{ds['name']}'")
    want = ds.get("max_nodes")
    if want is not None and prepared.train.max_nodes != int(want):
        raise PreparedDataError(f"{path}: graphs padded to {prepared.train.max_nodes} nodes, the preset asks for "
                                f"max_nodes={want}")
    x_net = preset.get("denoiser", {}).get("args", {}).get("x_net", {}).get("args", {})
    f = x_net.get("num_features")
    if f is not None and len(prepared.train.feature_names) != int(f):
        raise PreparedDataError(f"{path}: {len(prepared.train.feature_names)} node features "
                                f"{prepared.train.feature_names}, the preset's network expects {f}")


def _cached_molecules(preset: dict, data: str | None, skip_invalid: bool, networkx_reference: bool) -> PreparedData:
    """QM9 / ZINC250k featurised once per (dataset spec, source files, test index, skip_invalid), then read back
    from ``$MORPHOGEN_CACHE/graphs/`` (see :mod:`morphogen.graphs.data.prepared`)."""
    from morphogen.graphs.data.prepared import (
        cache_path, file_fingerprint, is_prepared_file, read_prepared, write_prepared,
    )
    from morphogen.molecules.qm9 import qm9pack_files

    ds = preset["dataset"]
    name = ds["name"]
    if name == "zinc250k" and data is None:
        raise FileNotFoundError("ZINC250k is not bundled: pass --data 250k_rndm_zinc_drugs_clean_3.csv")
    sources = qm9pack_files() if data is None else [Path(data)]
    missing = [str(f) for f in sources if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"{name} source not found: {missing}")
    key = {"dataset": ds, "skip_invalid": bool(skip_invalid), "sources": [file_fingerprint(f) for f in sources],
           "test_index": file_fingerprint(_test_index_path(ds))}
    path = cache_path(name, key)
    if path is not None and is_prepared_file(path):
        print(f"reading featurised {name} from the cache {path} (set MORPHOGEN_CACHE=off to featurise again)")
        return read_prepared(path, networkx_reference)
    prepared = _load_source(preset, data, None, skip_invalid)
    if path is not None:
        try:
            write_prepared(prepared, path, name, {"skip_invalid": bool(skip_invalid), "source": str(data or "qm9pack")})
            print(f"cached featurised {name} in {path} (MORPHOGEN_CACHE to move it, =off to disable)")
        except OSError as err:
            print(f"could not write the featurisation cache {path}: {err}")
    return prepared


def _test_index_path(ds: dict) -> Path:
    return Path(ds.get("test_index_path") or data_root() / "graphs" / "molecules" / ds["test_index"])


def _load_source(preset: dict, data: str | None = None, limit: int | None = None,
                 skip_invalid: bool = False) -> PreparedData:
    """Read and featurise the preset's dataset from its source files (:mod:`morphogen.molecules` for molecules,
    networkx for graphs)."""
    from morphogen.graphs.data.dense import DenseGraphs
    from morphogen.graphs.data.generic import graphs_to_dense, read_graph_json, read_tu_dataset
    from morphogen.graphs.data.kind import GraphKind
    from morphogen.graphs.data.prepared import PreparedData

    ds = preset["dataset"]
    name = ds["name"]
    root = data_root() / "graphs"
    if name in MOLECULE_SETS:
        from morphogen.graphs.data.splits import gdss_split
        from morphogen.molecules import load_moses, load_qm9, load_zinc250k

        if name == "qm9":
            ms = load_qm9(data, skip_invalid=skip_invalid)
        elif name == "zinc250k":
            if data is None:
                raise FileNotFoundError("ZINC250k is not bundled: pass --data 250k_rndm_zinc_drugs_clean_3.csv")
            ms = load_zinc250k(data, skip_invalid=skip_invalid)
        else:
            folder = data or root / "molecules" / "moses"
            ms = load_moses(folder, "train", skip_invalid=skip_invalid, limit=limit)
            test = load_moses(folder, "test", skip_invalid=True, limit=10000)
            return PreparedData(DenseGraphs.from_molecules(ms.molecules), list(test.molecules.smiles),
                                list(ms.molecules.smiles), GraphKind.MOLECULE, name)
        split = gdss_split(ms, _test_index_path(ds))
        keep = split.train if limit is None else split.train[:limit]
        train = DenseGraphs.from_molecules(ms.molecules.subset(keep))
        smiles = ms.molecules.smiles
        return PreparedData(train, [smiles[i] for i in split.test.tolist()], [smiles[i] for i in split.train.tolist()],
                            GraphKind.MOLECULE, name)
    path = Path(data) if data else root / "generic" / GENERIC_FILES[name]
    graphs = read_tu_dataset(path) if path.is_dir() else read_graph_json(path)
    n_test = int(float(ds.get("test_split", 0.2)) * len(graphs))
    test, train = graphs[:n_test], graphs[n_test:]  # GDSS: the first test_split of the list is the test set
    dense = graphs_to_dense(train, ds.get("max_nodes"), ds.get("max_degree_feat"))
    return PreparedData(dense, test, None, GraphKind.GRAPH, name)


def write_prepared_dataset(preset_name: str, out: str | Path, data: str | None = None, limit: int | None = None,
                           skip_invalid: bool = False) -> Path:
    """Featurise the preset's training data (and its evaluation records) into one safetensors file that
    ``train --data OUT`` reads without RDKit, networkx or qm9pack."""
    from morphogen.graphs.data.prepared import write_prepared

    preset = load_preset(preset_name)
    prepared = prepare_data(preset, data, limit, skip_invalid)
    opts = {"source": str(data) if data else "default", "limit": limit, "skip_invalid": bool(skip_invalid)}
    return write_prepared(prepared, out, Path(preset_name).stem, opts)


@dataclass
class TrainerOptions:
    """Lightning settings of :func:`train` (passed through to :func:`morphogen.train.trainer.fit`).

    Attributes:
        accelerator: ``"cpu"``, ``"gpu"``, ``"cuda"``, ``"auto"``, ...
        devices: ``"auto"``, a count (``1``) or a list such as ``"0,1"``.
        precision: ``32``, ``"bf16"`` (bf16-mixed), ``"16"`` (16-mixed), ... (aliases of the core trainer).
        max_minutes: stop after this much training time of this call (the core's ``SessionTimer``: a resumed
            run gets the full budget again); the EMA weights are exported as usual.
        num_workers: DataLoader worker processes (0: batches are built in the training process).
        strategy: Lightning strategy (``"auto"``, ``"ddp"``, ...).
    """

    accelerator: str = "cpu"
    devices: int | str = "auto"
    precision: str | int = "32"
    max_minutes: float | None = None
    num_workers: int = 0
    strategy: str = "auto"


def train(preset_name: str, out: str | Path, data: str | None = None, epochs: int | None = None,
          max_steps: int = -1, batch_size: int | None = None, limit: int | None = None, seed: int = 0,
          skip_invalid: bool = False, progress: bool = True, trainer: TrainerOptions | None = None,
          init_from: str | None = None, lr: float | None = None) -> Path:
    """Fit the preset's GDSS model; writes ``out/model.safetensors`` (EMA weights + config) and Lightning logs.

    ``init_from``: a model file (or shipped name) of the same preset whose weights start the run (the optimiser
    starts fresh; a resumed run in ``out`` takes precedence); ``lr`` overrides the preset's learning rate.
    ``data`` may be a prepared file (``morphogen graphs prepare``): then nothing on this path imports RDKit,
    networkx or qm9pack."""
    from datetime import timedelta

    import torch
    from torch.utils.data import DataLoader

    from morphogen.train.checkpoint import save_model
    from morphogen.train.data import EpochShuffleSampler
    from morphogen.train.module import GenerativeModule
    from morphogen.train.trainer import fit
    from morphogen.utils.config import build
    from morphogen.utils.padding import CountHistogram

    opts = trainer or TrainerOptions()
    preset = load_preset(preset_name)
    prepared = prepare_data(preset, data, limit, skip_invalid, networkx_reference=False)
    if prepared.train.skipped:
        print(f"skipped {len(prepared.train.skipped)} invalid records (first: {prepared.train.skipped[0]})")
    tr = preset["train"]
    joint, den = build(preset["process"]), build(preset["denoiser"])
    if init_from is not None:
        _, start, start_config = load_model(init_from)
        if start_config["denoiser"] != preset["denoiser"]:
            raise ValueError(f"--init-from {init_from}: its denoiser configuration differs from preset "
                             f"'{preset_name}'")
        den.load_state_dict(start.state_dict())
    g = prepared.train
    ds = _GraphDataset(g.x, g.adj, g.mask)
    bs = batch_size or int(tr["batch_size"])
    workers = int(opts.num_workers)
    loader = DataLoader(ds, batch_size=min(bs, len(ds)), sampler=EpochShuffleSampler(len(ds), seed),
                        collate_fn=_Collate(ds), num_workers=workers, persistent_workers=workers > 0,
                        pin_memory=str(opts.accelerator) not in ("cpu",) and torch.cuda.is_available())
    counts = CountHistogram.from_counts(g.num_nodes(), length=g.max_nodes + 1)
    config = {"process": preset["process"], "denoiser": preset["denoiser"], "dataset": preset["dataset"],
              "feature_names": g.feature_names, "max_nodes": g.max_nodes, "node_count_hist": counts.to_list(),
              "sampler": preset.get("sampler", {"name": "s4", "args": {}}), "kind": prepared.kind.value}
    module = GenerativeModule(joint, den, lr=float(lr if lr is not None else tr["lr"]),
                              weight_decay=float(tr.get("weight_decay", 0.0)),
                              ema_decay=float(tr.get("ema_decay", 0.999)), seed=seed, config=config)
    out = Path(out)
    extra = {} if opts.max_minutes is None else {"max_time": timedelta(minutes=float(opts.max_minutes))}
    fit(module, loader, out_dir=out / "run", resume=True, max_epochs=epochs if epochs is not None else
        (None if max_steps > 0 else int(tr["epochs"])), max_steps=max_steps, accelerator=opts.accelerator,
        devices=_devices(opts.devices), strategy=opts.strategy, precision=opts.precision,
        gradient_clip_val=float(tr.get("gradient_clip", 1.0)), progress=progress, logger="csv", **extra)
    return save_model(out / "model.safetensors", module.sampling_denoiser.state_dict(), config)


def _devices(devices: int | str) -> int | str | list[int]:
    """``"2"`` -> 2, ``"0,1"`` -> [0, 1], ``"auto"`` / ``-1`` unchanged."""
    if isinstance(devices, int):
        return devices
    d = str(devices).strip()
    if d.lstrip("-").isdigit():
        return int(d)
    if "," in d:
        return [int(p) for p in d.split(",") if p.strip()]
    return d


class _GraphDataset:
    def __init__(self, x, adj, mask):
        self.x, self.adj, self.mask = x, adj, mask

    def __len__(self):
        return self.x.shape[0]

    def __getitem__(self, i):
        return i


class _Collate:
    """Batch of dataset positions -> ``{"fields": {"X", "A"}, "masks": {"X", "A"}}`` (a class, so that DataLoader
    workers started by spawn can pickle it)."""

    def __init__(self, ds: _GraphDataset):
        self.ds = ds

    def __call__(self, idx):
        import torch

        from morphogen.graphs.data.dense import graph_masks

        i = torch.as_tensor(idx)
        return {"fields": {"X": self.ds.x[i], "A": self.ds.adj[i]}, "masks": graph_masks(self.ds.mask[i])}


def resolve_checkpoint(name_or_path: str) -> Path:
    from morphogen.utils.resources import resolve_checkpoint as _resolve

    return _resolve(name_or_path, CHECKPOINT_DIR, "graphs")


@dataclass
class Samples:
    """x (B, N, F), adj (B, N, N), mask (B, N) of generated graphs, with the network evaluations and seconds."""

    x: Any
    adj: Any
    mask: Any
    nfe: int
    seconds: float


def load_model(checkpoint: str):
    """(joint process, denoiser in eval mode, config) from a safetensors checkpoint."""
    from morphogen.train.checkpoint import load_model as _load
    from morphogen.utils.config import build

    weights, config = _load(resolve_checkpoint(checkpoint))
    joint, den = build(config["process"]), build(config["denoiser"])
    den.load_state_dict(weights)
    return joint, den.eval(), config


def generate(checkpoint: str, num_samples: int, steps: int | None = None, sampler: str | None = None,
             seed: int = 0, batch_size: int = 1024) -> tuple[Samples, dict]:
    """Sample graphs; node counts drawn from the training histogram stored in the checkpoint (GDSS init_flags)."""
    import torch

    from morphogen.graphs.data.dense import graph_masks
    from morphogen.samplers.registry import get_sampler
    from morphogen.utils.padding import mask_from_counts

    joint, den, config = load_model(checkpoint)
    spec = dict(config.get("sampler") or {"name": "s4", "args": {}})
    name = sampler or spec["name"]
    args = dict(spec.get("args", {})) if name == spec["name"] else {}
    if steps is not None:
        args["steps"] = steps
    smp = get_sampler(name, **args)
    gen = torch.Generator().manual_seed(seed)
    hist = node_count_histogram(config)
    n, f = int(config["max_nodes"]), len(config["feature_names"])
    xs, adjs, masks, nfe, t0 = [], [], [], 0, time.time()
    for start in range(0, num_samples, batch_size):
        b = min(batch_size, num_samples - start)
        counts = hist.sample(b, gen)
        mask = mask_from_counts(counts, n)
        res = smp.sample(joint, den, {"X": (b, n, f), "A": (b, n, n)}, masks=graph_masks(mask), generator=gen)
        xs.append(res.fields["X"])
        adjs.append(res.fields["A"])
        masks.append(mask)
        nfe = res.nfe
    return Samples(torch.cat(xs), torch.cat(adjs), torch.cat(masks), nfe, time.time() - t0), config


def node_count_histogram(config: dict) -> CountHistogram:
    """The training histogram of node counts of a checkpoint (stored as ``node_count_hist``, a list indexed by the
    count) as a :class:`morphogen.utils.padding.CountHistogram`."""
    from morphogen.utils.padding import CountHistogram

    if "node_count_hist" not in config:
        raise KeyError("the checkpoint configuration has no 'node_count_hist' (a graphs checkpoint stores the node "
                       "counts of its training set)")
    return CountHistogram.from_list(config["node_count_hist"])
