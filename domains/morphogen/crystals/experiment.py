"""From a preset to structures: the preset, the model it builds, training (the core's :func:`train_bundle`), loading
(the core's :func:`morphogen.bundle.load`) and sampling. The command line, the demo, the notebook and the benchmarks
call these; data reading lives in :mod:`morphogen.crystals.data.sources`, writing in :mod:`morphogen.crystals.io`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from morphogen.crystals.data.sources import DataSplits, default_data_location, load_splits
from morphogen.utils.padding import CountHistogram

PRESET_DIR = Path(__file__).parent / "presets"
CHECKPOINT_DIR = Path(__file__).parent / "checkpoints"
__all__ = ["CHECKPOINT_DIR", "PRESET_DIR", "DataSplits", "SampledStructures", "build_model", "default_data_location",
           "load_model", "load_preset", "load_splits", "sample_structures", "train"]


def load_preset(name_or_path: str | os.PathLike):
    """A :class:`morphogen.bundle.Preset` by name (``perov_5``, ``carbon_24``, ``mp_20``, ``mpts_52``) or YAML path,
    its ``data:`` section checked too (errors name the file and the key)."""
    from morphogen.bundle.preset import load_preset as _load
    from morphogen.crystals.data.sources import DataConfig

    preset = _load(name_or_path, PRESET_DIR, "crystals")
    DataConfig.from_mapping(preset.data, f"{preset.source}: data")
    if not preset.variants:
        from morphogen.bundle.preset import PresetError

        raise PresetError(f"{preset.source}: a crystals preset names its process families under 'variants'")
    return preset


def lattice_form(preset, family: str) -> str:
    """The lattice field a variant's denoiser reads: its ``lattice`` argument (``"matrix"`` | ``"params"``), else
    that argument's default in the class, else ``"params"`` (a denoiser without the argument, such as
    :class:`morphogen.crystals.models.cspnet.CrystalDenoiser`, reads the six lattice parameters)."""
    import inspect

    from morphogen.utils.config import resolve_class

    spec = preset.variant(family).denoiser
    args = dict(spec.get("args") or {})
    if "lattice" in args:
        return str(args["lattice"])
    param = inspect.signature(resolve_class(spec["class"]).__init__).parameters.get("lattice")
    return "params" if param is None or param.default is inspect.Parameter.empty else str(param.default)


def build_model(preset, task: str, family: str, codec, num_atoms=None):
    """An untrained :class:`CrystalModel` of the preset's variant ``family`` (``bfn`` | ``diffusion`` | ``flow``) for
    ``task``: the variant's joint process without its ``atom_types`` field for CSP (the composition is a
    condition), with it for generation; the denoiser with the variant's prediction kinds of those fields.
    ``num_atoms``: the training atom counts (:class:`morphogen.utils.padding.CountHistogram`)."""
    from morphogen.bundle.model import BundleMetadata
    from morphogen.bundle.preset import PresetError
    from morphogen.crystals.models.bundle import CrystalModel, field_names
    from morphogen.processes.joint import JointProcess
    from morphogen.utils.config import build

    names = field_names(task)
    v = preset.variant(family)
    where = f"{preset.source or preset.name}: variants.{family}"
    if v.process is None or v.sampler is None:
        raise PresetError(f"{where}: needs 'process' and 'sampler'")
    full = build(v.process)
    missing = [k for k in names if k not in full.fields]
    if missing:
        raise PresetError(f"{where}.process: no field(s) {missing} (a {task} model needs {names})")
    process = JointProcess({k: full[k] for k in names}, full.time_sampling, full.stratified)
    args = dict(v.denoiser.get("args") or {})
    kinds = dict(args.get("kinds") or {})
    args.update(task=task, kinds={k: kinds[k] for k in names if k in kinds})
    denoiser = build({"class": v.denoiser["class"], "args": args})
    shipped = preset.source is not None and Path(preset.source).parent == PRESET_DIR
    meta = BundleMetadata(preset=preset.name if shipped or preset.source is None else str(preset.source))
    return CrystalModel(process=process, denoiser=denoiser, sampler=v.sampler, metadata=meta, codec=codec, task=task,
                        family=family, num_atoms=num_atoms)


def train(preset, task: str, family: str, splits: DataSplits, out: str | os.PathLike, options=None,
          **trainer_kwargs: Any):
    """Train through the core's :func:`morphogen.train.entry.train_bundle`; writes ``out/model.safetensors`` (EMA
    weights) and ``out/run/`` (logs, ``checkpoints/last.ckpt``, resumed by the next call with the same ``out``).

    ``options`` (:class:`morphogen.train.options.TrainOptions`): hardware, time and the overrides of the preset's
    train block. ``options.init_from``: a crystals model whose weights *and lattice codec* start the run (task,
    process family, process and network must agree). Returns the core's :class:`TrainResult`."""
    import torch

    from morphogen.bundle.store import load
    from morphogen.crystals.data import CrystalDataset, collate_crystals, lattice_codec_class
    from morphogen.train.entry import TrainData, resolved_config, train_bundle
    from morphogen.train.options import TrainOptions

    opts = options or TrainOptions()
    config = preset.variant(family).train
    torch.manual_seed(resolved_config(config, opts).seed)  # the initial weights follow the seed too
    counts = np.asarray([r.num_atoms for r in splits.train])
    codec = lattice_codec_class(lattice_form(preset, family)).fit(np.stack([r.lattice for r in splits.train]), counts)
    model = build_model(preset, task, family, codec, CountHistogram.from_counts(counts))
    if opts.init_from is not None:  # before the datasets: they standardise lattices with the start model's codec
        model.load_weights_from(load(opts.init_from, domain="crystals"), f"--init-from {opts.init_from}")
        opts = replace(opts, init_from=None)
    val = CrystalDataset(splits.val, model.codec, task) if splits.val else None
    data = TrainData(CrystalDataset(splits.train, model.codec, task), val, collate_crystals, drop_last=True,
                     fingerprint=splits.fingerprint, description=splits.describe())
    return train_bundle(model, data, config, out, opts, **trainer_kwargs)


def load_model(name_or_path: str | os.PathLike, device: str | None = None):
    """A crystals model by shipped name (``perov_5``, ``carbon_24``), run folder or file (either format)."""
    from morphogen.bundle.store import load

    return load(name_or_path, domain="crystals", device=device)


@dataclass
class SampledStructures:
    """Sampled cells, in the order asked for.

    Attributes:
        structures: one pymatgen Structure per requested cell (None where the sampled lattice is no cell).
        nfe: network evaluations per cell, as the sampler counted them (``SampleResult.nfe``; the receiver
            sampler ``bfn`` of n steps makes n + 1, ``bfn_end_back`` n).
        sampler: the sampler that ran (:class:`morphogen.samplers.spec.SamplerSpec`).
    """

    structures: list
    nfe: int
    sampler: Any


def sample_structures(model, atomic_numbers: Sequence[np.ndarray] | None = None, num_samples: int | None = None, *,
                      sampler: str | None = None, steps: int | None = None, batch_size: int | None = None,
                      seed: int = 0, device: str | None = None) -> SampledStructures:
    """CSP (``atomic_numbers`` given: one cell per entry, the composition fixed) or generation (``num_samples``
    cells, atom counts drawn from the training histogram), in batches of ``batch_size`` cells (default 512) drawn
    from one generator seeded with ``seed``, on ``device`` (default: where the model is).

    ``sampler`` / ``steps``: the core rule of :mod:`morphogen.samplers.spec` on the model's default sampler
    (``"renoise"``, ``"renoise:start=0.5"``, ...); an incompatible sampler is refused before sampling."""
    import torch

    from morphogen.crystals.data import pad_atoms
    from morphogen.samplers.spec import SamplerSpec

    if device is not None:
        model.to(device)
    dev = model.device
    if model.task == "csp":
        if atomic_numbers is None:
            raise ValueError("a CSP model needs the compositions (atomic_numbers)")
        cells = list(atomic_numbers)
    else:
        if not num_samples:
            raise ValueError("generation needs num_samples > 0")
        if model.num_atoms is None:
            raise ValueError("this generation model stores no atom-count histogram to draw cell sizes from")
        sizes = model.num_atoms.sample_numpy(int(num_samples), np.random.default_rng(seed))
        cells = [np.ones(int(k), dtype=np.int64) for k in sizes]
    smp = model.make_sampler(sampler, steps)
    gen = torch.Generator(device=dev).manual_seed(seed)
    model.denoiser.eval()
    out, nfe, size = [], 0, int(batch_size or 512)
    for start in range(0, len(cells), size):
        types, mask = pad_atoms(cells[start:start + size])
        types, mask = types.to(dev), mask.to(dev)
        b, n = types.shape
        shapes = {"lattice": (b, *getattr(model.codec, "shape", (6,))), "frac_coords": (b, n, 3)}
        masks = {"frac_coords": mask.unsqueeze(-1)}
        cond = {"node_mask": mask, "num_atoms": mask.sum(1)}
        if model.task == "csp":
            cond["atom_types"] = types
        else:
            shapes["atom_types"] = (b, n)
            masks["atom_types"] = mask
        res = smp.sample(model.process, model.denoiser, shapes, masks=masks, condition=cond, generator=gen, device=dev)
        nfe = max(nfe, res.nfe)
        t_out = types if model.task == "csp" else res.fields["atom_types"]
        out += model.decode(res.fields["lattice"], res.fields["frac_coords"], t_out, mask)
    return SampledStructures(out, nfe, SamplerSpec.of(smp))
