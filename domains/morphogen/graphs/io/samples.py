"""A samples folder, what ``morphogen graphs sample`` writes: ``samples.smi`` (molecules: one raw SMILES per sample,
an empty line for an empty one) or ``graphs.json`` (generic graphs), ``grid.png`` (the first 32 molecules or 16
graphs) and ``sampling.json`` (:class:`SamplingSummary`).

``sampling.json`` is the folder's index: it lists the files of the run and is written last, after them; the
``sampling.json`` of an earlier run (and its ``metrics.json``, which scored the earlier samples) is removed before
the first file is written. Every file is written atomically (:mod:`morphogen.utils.outputs`), so each is complete
or absent: a folder with a ``sampling.json`` holds one complete run, and one without it an interrupted one (e.g. a
full disk). ``samples.smi`` and ``graphs.json`` are the samples themselves (what ``graphs evaluate`` reads)."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from morphogen.graphs.model import GraphModel

INDEX_NAME = "sampling.json"

#: what ``seconds`` and ``samples_per_second`` time (:meth:`GraphModel.generate`)
TIMED = ("the sampling loop of GraphModel.generate: node counts, masks and the sampler over all batches, samples "
         "copied to the CPU; not loading the model, decoding or writing; no compilation, no warm-up run")


@dataclass
class SamplingSummary:
    """What one sampling run did (written to ``OUT/sampling.json``).

    Attributes:
        num_samples: graphs drawn.
        nfe_per_sample: network evaluations per graph.
        seconds: wall time of the sampling loop (:data:`TIMED`: decoding and writing excluded, nothing compiled or
            warmed up beforehand); samples_per_second: num_samples / seconds.
        checkpoint: the model (its name or file).
        sampler: the sampler with all its arguments (``NAME:key=value,...``).
        seed: the seed of the draws; device: where they were drawn.
        validity_without_correction: molecules only, the share whose valences are possible as generated.
        connected: molecules only, the share valid without correction and in one fragment as generated.
        files: the files of the run, this ``sampling.json`` last.
        timed: what ``seconds`` covers, in words (:data:`TIMED`).
    """

    num_samples: int
    nfe_per_sample: int
    seconds: float
    samples_per_second: float
    checkpoint: str
    sampler: str
    seed: int
    device: str
    validity_without_correction: float | None = None
    connected: float | None = None
    files: list[str] = field(default_factory=list)
    timed: str = TIMED

    def as_dict(self) -> dict:
        return asdict(self)


def write_samples(model: "GraphModel | str | os.PathLike", out: str | os.PathLike, num_samples: int, *,
                  sampler: str | None = None, steps: int | None = None, seed: int = 0, batch_size: int | None = None,
                  device: str | None = None) -> SamplingSummary:
    """Sample ``num_samples`` graphs from ``model`` (a :class:`GraphModel`, or a model file, run folder or shipped
    name) with :meth:`GraphModel.generate` and write the samples folder ``out``; no ``sampler`` / ``steps``: the
    model's default sampler. ``sampling.json`` is written last (see the module's docstring); a write that fails
    (e.g. a full disk) raises :class:`morphogen.utils.outputs.OutputWriteError` naming the file."""
    from morphogen.graphs.io.formats import draw_graphs
    from morphogen.utils.outputs import atomic_json, remove_stale

    if isinstance(model, (str, os.PathLike)):
        from morphogen.bundle.store import load

        name, model = str(model), load(model, domain="graphs")
    else:
        name = str(model.source or model.metadata.preset or "in-memory model")
    s = model.generate(num_samples, sampler=sampler, steps=steps, seed=seed, batch_size=batch_size, device=device)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale(out, INDEX_NAME, "metrics.json")
    info = SamplingSummary(num_samples, s.nfe, s.seconds, num_samples / max(s.seconds, 1e-9), name, str(s.sampler),
                           seed, str(model.device))
    if model.molecules:
        from morphogen.molecules.draw import draw_molecules
        from morphogen.molecules.io import write_smiles
        from morphogen.molecules.valency import decode_molecules

        dec = decode_molecules(s.x, s.adj, model.feature_names, s.mask)
        write_smiles([d.raw_smiles for d in dec], out / "samples.smi")
        draw_molecules([d.smiles for d in dec[:32]], out / "grid.png")
        info.validity_without_correction = sum(d.valid_without_correction for d in dec) / len(dec)
        info.connected = sum(d.connected for d in dec) / len(dec)
        info.files = [str(out / "samples.smi"), str(out / "grid.png")]
    else:
        from morphogen.graphs.data.generic import dense_to_graphs, write_graph_json

        graphs = dense_to_graphs(s.adj, s.mask)
        write_graph_json(graphs, out / "graphs.json")
        draw_graphs(graphs[:16], out / "grid.png")
        info.files = [str(out / "graphs.json"), str(out / "grid.png")]
    info.files.append(str(out / INDEX_NAME))
    atomic_json(out / INDEX_NAME, info.as_dict())
    return info
