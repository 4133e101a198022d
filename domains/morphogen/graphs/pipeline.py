"""Presets -> data, model, training, sampling and evaluation: what the ``morphogen graphs`` commands call."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRESET_DIR = Path(__file__).parent / "presets"
CHECKPOINT_DIR = Path(__file__).parent / "checkpoints"
MOLECULE_SETS = ("qm9", "zinc250k", "moses")
GENERIC_FILES = {"community_small": "community_small.json", "ego_small": "ego_small.json", "grid": "grid.json",
                 "enzymes": "enzymes.json"}


def data_root() -> Path:
    """The real-data folder (see :func:`morphogen.utils.resources.data_root`)."""
    from morphogen.utils.resources import data_root as _root

    return _root()


def load_preset(name_or_path: str) -> dict:
    from morphogen.utils.resources import load_preset as _load

    return _load(name_or_path, PRESET_DIR, "graphs")


@dataclass
class PreparedData:
    """train: DenseGraphs to fit; reference: test SMILES (molecules) or networkx graphs; train_smiles for novelty."""

    train: Any
    reference: list
    train_smiles: list[str] | None
    kind: str  # "molecule" or "graph"


def prepare_data(preset: dict, data: str | None = None, limit: int | None = None, skip_invalid: bool = False) -> PreparedData:
    """Load the preset's dataset (from ``data`` when given) with its GDSS split."""
    from morphogen.graphs.data import datasets as D
    from morphogen.graphs.data.generic import graphs_to_dense, read_graph_json, read_tu_dataset

    ds = preset["dataset"]
    name = ds["name"]
    root = data_root() / "graphs"
    if name in MOLECULE_SETS:
        if name == "qm9":
            ms = D.load_qm9(data, skip_invalid=skip_invalid)
        elif name == "zinc250k":
            if data is None:
                raise FileNotFoundError("ZINC250k is not bundled: pass --data 250k_rndm_zinc_drugs_clean_3.csv")
            ms = D.load_zinc250k(data, skip_invalid=skip_invalid)
        else:
            folder = data or root / "molecules" / "moses"
            ms = D.load_moses(folder, "train", skip_invalid=skip_invalid, limit=limit)
            test = D.load_moses(folder, "test", skip_invalid=True, limit=10000)
            return PreparedData(ms.graphs, list(test.graphs.names), list(ms.graphs.names), "molecule")
        idx = Path(ds.get("test_index_path") or root / "molecules" / ds["test_index"])
        split = D.gdss_split(ms, idx)
        train = ms.graphs.subset(split.train)
        if limit is not None:
            train = train.subset(list(range(min(limit, len(train)))))
        test_smiles = [ms.graphs.names[i] for i in split.test.tolist()]
        return PreparedData(train, test_smiles, [ms.graphs.names[i] for i in split.train.tolist()], "molecule")
    path = Path(data) if data else root / "generic" / GENERIC_FILES[name]
    graphs = read_tu_dataset(path) if path.is_dir() else read_graph_json(path)
    n_test = int(float(ds.get("test_split", 0.2)) * len(graphs))
    test, train = graphs[:n_test], graphs[n_test:]  # GDSS: the first test_split of the list is the test set
    dense = graphs_to_dense(train, ds.get("max_nodes"), ds.get("max_degree_feat"))
    return PreparedData(dense, test, None, "graph")


def train(preset_name: str, out: str | Path, data: str | None = None, epochs: int | None = None,
          max_steps: int = -1, batch_size: int | None = None, limit: int | None = None, seed: int = 0,
          skip_invalid: bool = False, progress: bool = True) -> Path:
    """Fit the preset's GDSS model; writes ``out/model.safetensors`` (EMA weights + config) and Lightning logs."""
    import torch
    from torch.utils.data import DataLoader

    from morphogen.train.checkpoint import save_model
    from morphogen.train.data import EpochShuffleSampler
    from morphogen.train.module import GenerativeModule
    from morphogen.train.trainer import fit
    from morphogen.utils.config import build

    preset = load_preset(preset_name)
    prepared = prepare_data(preset, data, limit, skip_invalid)
    if prepared.train.skipped:
        print(f"skipped {len(prepared.train.skipped)} invalid records (first: {prepared.train.skipped[0]})")
    tr = preset["train"]
    joint, den = build(preset["process"]), build(preset["denoiser"])
    g = prepared.train
    ds = _GraphDataset(g.x, g.adj, g.mask)
    bs = batch_size or int(tr["batch_size"])
    loader = DataLoader(ds, batch_size=min(bs, len(ds)), sampler=EpochShuffleSampler(len(ds), seed),
                        collate_fn=_make_collate(ds))
    counts = torch.bincount(g.num_nodes(), minlength=g.max_nodes + 1).tolist()
    config = {"process": preset["process"], "denoiser": preset["denoiser"], "dataset": preset["dataset"],
              "feature_names": g.feature_names, "max_nodes": g.max_nodes, "node_count_hist": counts,
              "sampler": preset.get("sampler", {"name": "s4", "args": {}}), "kind": prepared.kind}
    module = GenerativeModule(joint, den, lr=float(tr["lr"]), weight_decay=float(tr.get("weight_decay", 0.0)),
                              ema_decay=float(tr.get("ema_decay", 0.999)), seed=seed, config=config)
    out = Path(out)
    fit(module, loader, out_dir=out / "run", resume=True, max_epochs=epochs if epochs is not None else
        (None if max_steps > 0 else int(tr["epochs"])), max_steps=max_steps, accelerator="cpu",
        gradient_clip_val=float(tr.get("gradient_clip", 1.0)), progress=progress, logger="csv")
    return save_model(out / "model.safetensors", module.sampling_denoiser.state_dict(), config)


class _GraphDataset:
    def __init__(self, x, adj, mask):
        self.x, self.adj, self.mask = x, adj, mask

    def __len__(self):
        return self.x.shape[0]

    def __getitem__(self, i):
        return i


def _make_collate(ds):
    from morphogen.graphs.data.dense import graph_masks

    def collate(idx):
        import torch

        i = torch.as_tensor(idx)
        return {"fields": {"X": ds.x[i], "A": ds.adj[i]}, "masks": graph_masks(ds.mask[i])}

    return collate


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

    import morphogen.graphs.samplers  # noqa: F401  (registers "s4")
    from morphogen.graphs.data.dense import graph_masks, node_mask_from_counts
    from morphogen.samplers.registry import get_sampler

    joint, den, config = load_model(checkpoint)
    spec = dict(config.get("sampler") or {"name": "s4", "args": {}})
    name = sampler or spec["name"]
    args = dict(spec.get("args", {})) if name == spec["name"] else {}
    if steps is not None:
        args["steps"] = steps
    smp = get_sampler(name, **args)
    gen = torch.Generator().manual_seed(seed)
    hist = torch.tensor(config["node_count_hist"], dtype=torch.float)
    n, f = int(config["max_nodes"]), len(config["feature_names"])
    xs, adjs, masks, nfe, t0 = [], [], [], 0, time.time()
    for start in range(0, num_samples, batch_size):
        b = min(batch_size, num_samples - start)
        counts = torch.multinomial(hist, b, replacement=True, generator=gen)
        mask = node_mask_from_counts(counts, n)
        res = smp.sample(joint, den, {"X": (b, n, f), "A": (b, n, n)}, masks=graph_masks(mask), generator=gen)
        xs.append(res.fields["X"])
        adjs.append(res.fields["A"])
        masks.append(mask)
        nfe = res.nfe
    return Samples(torch.cat(xs), torch.cat(adjs), torch.cat(masks), nfe, time.time() - t0), config
