"""Preset -> data -> model -> training, for ``morphogen graphs train`` and notebooks.

The rest of the way lives where every domain has it: data reading in :mod:`morphogen.graphs.data.sources`, the
model in :class:`morphogen.graphs.model.GraphModel` (``generate``), training in the core's
:func:`~morphogen.train.entry.train_bundle`, loading by name or path in :func:`morphogen.bundle.load`, the samples
folder in :func:`morphogen.graphs.io.write_samples`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from morphogen.bundle.preset import Preset
    from morphogen.graphs.data.prepared import PreparedData
    from morphogen.graphs.model import GraphModel
    from morphogen.train.entry import TrainResult
    from morphogen.train.options import TrainOptions

PRESET_DIR = Path(__file__).parent / "presets"


def load_preset(name_or_path: str | os.PathLike) -> "Preset":
    """A graphs preset by name (``presets/<name>.yaml``) or path, checked against the one preset schema."""
    from morphogen.bundle.preset import load_preset as _load

    return _load(name_or_path, PRESET_DIR, "graphs")


def build_model(preset: "Preset", prepared: "PreparedData") -> "GraphModel":
    """The preset's untrained model for these data: process, denoiser, default sampler, and the feature names,
    padding and node-count histogram (N + 1 counts) of the training graphs. A network of the denoiser (``x_net``,
    ``a_net``) whose arguments leave out ``num_features`` gets the data's F (the ``pyg`` preset, for any dataset)."""
    import copy

    from morphogen.bundle.model import BundleMetadata
    from morphogen.graphs.data.kind import GraphKind
    from morphogen.graphs.model import GraphModel
    from morphogen.utils.config import build
    from morphogen.utils.padding import CountHistogram

    g = prepared.train
    if preset.sampler is None:
        raise ValueError(f"{preset.source or preset.name}: no default sampler (a graphs preset needs 'sampler:')")
    den = copy.deepcopy(preset.denoiser)
    for key in ("x_net", "a_net"):
        net = (den.get("args") or {}).get(key)
        if isinstance(net, dict):
            net.setdefault("args", {}).setdefault("num_features", len(g.feature_names))
    return GraphModel(process=build(preset.process), denoiser=build(den), sampler=preset.sampler,
                      metadata=BundleMetadata(preset=preset.name, notes={"data": dict(preset.data)}),
                      feature_names=list(g.feature_names), max_nodes=g.max_nodes,
                      node_count_hist=CountHistogram.from_counts(g.num_nodes(), length=g.max_nodes + 1).to_list(),
                      molecules=prepared.kind is GraphKind.MOLECULE)


def data_fingerprint(prepared: "PreparedData") -> str:
    """A 16-hex-digit hash of the training graphs themselves (tensors, feature names, dataset name)."""
    import hashlib

    from morphogen.train.entry import fingerprint

    g = prepared.train
    h = hashlib.sha256()
    for t in (g.x, g.adj, g.mask):
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return fingerprint({"dataset": prepared.dataset, "feature_names": g.feature_names, "graphs": len(g),
                        "tensors": h.hexdigest()})


def train(preset_name: str | os.PathLike, out: str | os.PathLike, data: str | os.PathLike | None = None,
          options: "TrainOptions | None" = None, *, epochs: int | None = None, limit: int | None = None,
          skip_invalid: bool = False) -> "TrainResult":
    """Fit the preset's GDSS model; writes ``out/model.safetensors`` (EMA weights, a :class:`GraphModel`) and
    ``out/run/`` (CSV logs, ``checkpoints/last.ckpt``, from which a second call resumes).

    ``options``: the shared run options (hardware, ``max_steps``, ``max_minutes``, ``init_from``, overrides);
    ``epochs`` overrides the preset's; ``limit`` keeps the first N training graphs; ``skip_invalid`` skips
    unusable molecules (reported) instead of failing. ``data`` may be a prepared file (``morphogen graphs
    prepare``): then nothing on this path imports RDKit, networkx or qm9pack."""
    import torch

    from morphogen.graphs.data.batching import DenseGraphDataset
    from morphogen.graphs.data.sources import prepare_data, report_skipped
    from morphogen.train.entry import TrainData, train_bundle
    from morphogen.train.options import TrainOptions

    opts = options or TrainOptions()
    preset = load_preset(preset_name)
    prepared = prepare_data(preset, data, limit, skip_invalid, networkx_reference=False)
    g = prepared.train
    report_skipped(prepared)
    torch.manual_seed(opts.seed if opts.seed is not None else preset.train.seed)  # the network's initialisation
    model = build_model(preset, prepared)
    ds = DenseGraphDataset(g)
    about = (f"{prepared.dataset}: {len(g):,} training graphs, at most {g.max_nodes} nodes, node features "
             f"{g.feature_names if len(g.feature_names) <= 10 else len(g.feature_names)}")
    return train_bundle(model, TrainData(ds, collate=ds.collate, fingerprint=data_fingerprint(prepared),
                                         description=about),
                        preset.train.override(epochs=epochs), out, opts, logger="csv")
