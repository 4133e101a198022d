"""The whole path from a preset to structures: data, model building, training, checkpoints, sampling, evaluation.

The command line (:mod:`morphogen.crystals.cli`) calls only these functions; a notebook can too.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    from morphogen.utils.padding import CountHistogram

PRESET_DIR = Path(__file__).parent / "presets"
CHECKPOINT_DIR = Path(__file__).parent / "checkpoints"
PROCESSES = ("bfn", "diffusion", "flow")
FORMAT = "morphogen.crystals/1"


# -- presets and data ---------------------------------------------------------------------------------------------
def load_preset(name_or_path: str) -> dict:
    """A preset by name (``perov_5``, ``carbon_24``, ``mp_20``, ``mpts_52``) or a YAML path."""
    from morphogen.utils.resources import load_preset as _load

    return _load(name_or_path, PRESET_DIR, "crystals")


def default_data_location(name: str) -> Path:
    """Where a dataset is looked for when none is given: <data root>/crystals/<name> (see
    :func:`morphogen.utils.resources.data_root`), else ../shared/data/crystals/<name> from the working directory."""
    from morphogen.utils.resources import data_root

    candidates = [data_root() / "crystals" / name, Path.cwd().parent / "shared" / "data" / "crystals" / name]
    for c in candidates:
        if c.exists():
            return c
    raise FileNotFoundError(f"no data for '{name}' found at {[str(c) for c in candidates]}; pass --data "
                            "(a folder with train.csv/val.csv[/test.csv] or one CDVAE-format CSV)")


@dataclass
class DataSplits:
    """Records of each split (test may be empty when the folder has none)."""

    train: list
    val: list
    test: list
    source: str


def load_splits(preset: dict, data: str | os.PathLike | None = None, limit: int | None = None) -> DataSplits:
    """Read a dataset: a folder with CDVAE's train.csv / val.csv (/ test.csv), one CSV (or a folder with
    pool.csv) split with the preset's seeded fractions, or a prepared file (``.json.gz``, see
    :mod:`morphogen.crystals.data.prepared`: no pymatgen needed)."""
    from morphogen.crystals.data import split_indices

    path = Path(data) if data is not None else default_data_location(preset["name"])
    opts = {"niggli": preset["data"]["niggli"], "primitive": preset["data"]["primitive"], "limit": limit}
    from morphogen.crystals.data.prepared import PreparedDataError, is_prepared, read_prepared

    if is_prepared(path):
        parts, header = read_prepared(path)
        got = {k: header["options"].get(k) for k in ("niggli", "primitive")}
        want = {k: opts[k] for k in ("niggli", "primitive")}
        if got != want:
            raise PreparedDataError(f"{path}: prepared with {got}, but preset '{preset['name']}' asks for {want}")
        cut = (lambda r: r[:limit]) if limit is not None else (lambda r: r)
        return DataSplits(cut(parts["train"]), cut(parts["val"]), cut(parts["test"]), f"{path} ({header['source']})")
    if path.is_dir() and (path / "train.csv").is_file():
        test = _read_csv_cached(path / "test.csv", opts) if (path / "test.csv").is_file() else []
        return DataSplits(_read_csv_cached(path / "train.csv", opts), _read_csv_cached(path / "val.csv", opts), test,
                          str(path))
    pool = path / "pool.csv" if path.is_dir() else path
    records = _read_csv_cached(pool, opts)
    sp = preset["data"].get("split", {})
    s = split_indices(len(records), tuple(sp.get("fractions", (0.8, 0.1, 0.1))), int(sp.get("seed", 0)))
    return DataSplits([records[i] for i in s.train], [records[i] for i in s.val], [records[i] for i in s.test],
                      str(pool))


def _read_csv_cached(path: Path, opts: dict) -> list:
    """:func:`read_cdvae_csv` of ``path`` with ``opts``, kept in ``$MORPHOGEN_CACHE/crystals`` as a prepared file
    keyed by the file's fingerprint and the options (parsing and Niggli-reducing Perov-5 takes ~15 s; reading the
    cache well under a second). A read error is raised exactly as without the cache (nothing is cached then)."""
    import hashlib
    import json

    from morphogen.crystals.data import read_cdvae_csv
    from morphogen.crystals.data.prepared import PREPARED_FORMAT, PreparedDataError, read_prepared, write_prepared
    from morphogen.utils.cache import cache_dir, file_fingerprint

    root = cache_dir()
    if root is None or not Path(path).is_file():
        return read_cdvae_csv(path, **opts)
    key = json.dumps({"format": PREPARED_FORMAT, "file": file_fingerprint(path), **opts}, sort_keys=True)
    cached = root / "crystals" / f"{Path(path).stem}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json.gz"
    if cached.is_file():
        try:
            return read_prepared(cached)[0]["train"]
        except PreparedDataError:
            pass  # a damaged cache entry: parse again and overwrite it
    records = read_cdvae_csv(path, **opts)
    try:
        write_prepared(cached, {"train": records}, source=str(path), options=opts)
    except OSError:
        pass  # a read-only cache folder only costs the parse next time
    return records


# -- models ---------------------------------------------------------------------------------------------------------
@dataclass
class CrystalModel:
    """A joint process, its denoiser and everything needed to sample and decode structures."""

    joint: object
    denoiser: object
    codec: object
    task: str
    process: str
    sampler: dict
    num_atoms: CountHistogram | None = None  # atoms per cell in the training set (generation draws from it)

    def config(self) -> dict:
        """The JSON configuration of the checkpoint; ``num_atoms`` is stored as ``{"count": frequency}``."""
        from morphogen.utils.config import spec_of

        hist = self.num_atoms.to_mapping() if self.num_atoms is not None else {}
        return {"format": FORMAT, "task": self.task, "process": self.process, "joint": spec_of(self.joint),
                "denoiser": spec_of(self.denoiser), "codec": spec_of(self.codec), "sampler": self.sampler,
                "num_atoms": {str(k): int(v) for k, v in hist.items()}}


def build_model(preset: dict, task: str, process: str, codec,
                num_atoms: CountHistogram | None = None) -> CrystalModel:
    """Build the joint process and the denoiser named by the preset for a task and a process family."""
    from morphogen.processes import JointProcess
    from morphogen.utils.config import build

    if task not in ("csp", "gen"):
        raise ValueError(f"task must be 'csp' or 'gen', got '{task}'")
    if process not in preset["processes"]:
        raise ValueError(f"process must be one of {sorted(preset['processes'])}, got '{process}'")
    pp = preset["processes"][process]
    names = ["lattice", "frac_coords"] + (["atom_types"] if task == "gen" else [])
    joint = JointProcess({k: build(pp["fields"][k]) for k in names})
    spec = preset["model"]
    args = dict(spec.get("args", {}))
    args.update(task=task, kinds={k: pp["kinds"][k] for k in names})
    denoiser = build({"class": spec["class"], "args": args})
    return CrystalModel(joint, denoiser, codec, task, process, dict(pp["sampler"]), num_atoms)


def save_crystal_model(model: CrystalModel, path: str | os.PathLike, state_dict=None) -> Path:
    from morphogen.train.checkpoint import save_model

    return save_model(path, state_dict if state_dict is not None else model.denoiser.state_dict(), model.config())


def resolve_checkpoint(name_or_path: str | os.PathLike) -> Path:
    from morphogen.utils.resources import resolve_checkpoint as _resolve

    return _resolve(name_or_path, CHECKPOINT_DIR, "crystals")


def load_crystal_model(name_or_path: str | os.PathLike) -> CrystalModel:
    """Rebuild a model written by :func:`save_crystal_model` (safetensors + JSON configuration, nothing unpickled)."""
    from morphogen.train.checkpoint import CheckpointError, load_model
    from morphogen.utils.config import build
    from morphogen.utils.padding import CountHistogram

    path = resolve_checkpoint(name_or_path)
    weights, cfg = load_model(path)
    if cfg.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a crystals checkpoint (format {cfg.get('format')!r})")
    den = build(cfg["denoiser"])
    den.load_state_dict(weights)
    den.eval()
    hist = CountHistogram.from_mapping(cfg["num_atoms"]) if cfg.get("num_atoms") else None
    return CrystalModel(build(cfg["joint"]), den, build(cfg["codec"]), cfg["task"], cfg["process"], cfg["sampler"],
                        hist)


# -- training -------------------------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    model_path: Path
    run_dir: Path
    losses: list  # (step, train loss) as logged
    model: CrystalModel


def train(preset: dict, task: str, process: str, splits: DataSplits, out: str | os.PathLike,
          max_steps: int | None = None, batch_size: int | None = None, lr: float | None = None,
          max_time_s: float | None = None, progress: bool = False, num_workers: int = 0,
          init_from: str | os.PathLike | None = None, **trainer_kwargs) -> TrainResult:
    """Train with the core's Lightning module; writes ``out/model.safetensors`` (EMA weights) and ``out/run/``.
    ``num_workers`` > 0 collates batches in that many persistent worker processes (worth it on a GPU).
    ``init_from``: a crystals model file (or shipped name) whose weights, lattice codec and configuration start the
    run (fine-tuning; task, process and network must agree with the preset's)."""
    import torch
    from torch.utils.data import DataLoader

    from morphogen.crystals.data import CrystalDataset, LatticeCodec, collate_crystals
    from morphogen.train.data import EpochShuffleSampler
    from morphogen.train.module import GenerativeModule
    from morphogen.train.trainer import fit
    from morphogen.utils.padding import CountHistogram

    tr = preset["train"]
    codec = LatticeCodec.fit(np.stack([r.lattice for r in splits.train]), np.asarray([r.num_atoms for r in splits.train]))
    counts = CountHistogram.from_counts([r.num_atoms for r in splits.train])
    model = build_model(preset, task, process, codec, counts)
    if init_from is not None:
        start = load_crystal_model(init_from)
        if (start.task, start.process) != (task, process) or start.config()["denoiser"] != model.config()["denoiser"]:
            raise ValueError(f"--init-from {init_from}: a {start.task}/{start.process} model with denoiser "
                             f"{start.config()['denoiser']}, but this run is {task}/{process} with "
                             f"{model.config()['denoiser']}")
        model.denoiser.load_state_dict(start.denoiser.state_dict())
        model.codec = codec = start.codec
    ds_train, ds_val = CrystalDataset(splits.train, codec, task), CrystalDataset(splits.val, codec, task)
    bs = int(batch_size or tr["batch_size"])
    seed = int(tr.get("seed", 0))
    workers = {"num_workers": int(num_workers), "persistent_workers": True} if num_workers > 0 else {}
    train_loader = DataLoader(ds_train, batch_size=bs, sampler=EpochShuffleSampler(len(ds_train), seed),
                              collate_fn=collate_crystals, drop_last=len(ds_train) > bs, **workers)
    val_loader = DataLoader(ds_val, batch_size=bs, collate_fn=collate_crystals)
    module = GenerativeModule(model.joint, model.denoiser, lr=float(lr or tr["lr"]), ema_decay=float(tr["ema_decay"]),
                              warmup_steps=int(tr.get("warmup_steps", 0)), seed=seed, config=model.config())
    out = Path(out)
    extra = {}
    if max_time_s:
        extra["max_time"] = {"seconds": float(max_time_s)}
    torch.manual_seed(seed)
    # small sets have few steps per epoch: validate and checkpoint about every 1,000 steps, not every epoch
    per_epoch = max(1, len(train_loader))
    trainer_kwargs.setdefault("check_val_every_n_epoch", max(1, 1000 // per_epoch))
    trainer_kwargs.setdefault("checkpoint_every_n_steps", 1000)
    fit(module, train_loader, val_loader, out_dir=out / "run", max_steps=int(max_steps or tr["max_steps"]),
        accelerator=trainer_kwargs.pop("accelerator", "cpu"), progress=progress, **extra, **trainer_kwargs)
    model_path = save_crystal_model(model, out / "model.safetensors", module.sampling_denoiser.state_dict())
    model.denoiser = module.sampling_denoiser
    model.denoiser.eval()
    return TrainResult(model_path, out / "run", read_losses(out / "run"), model)


def read_losses(run_dir: Path) -> list:
    """(step, train/loss) pairs from the CSV logger of a run (the latest version)."""
    import csv

    files = sorted(Path(run_dir).glob("logs/version_*/metrics.csv"), key=lambda p: int(p.parent.name.split("_")[1]))
    if not files:
        return []
    out = []
    with open(files[-1]) as fh:
        for rec in csv.DictReader(fh):
            if rec.get("train/loss"):
                out.append((int(rec["step"]), float(rec["train/loss"])))
    return out


# -- sampling -------------------------------------------------------------------------------------------------------
def _option_value(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def make_sampler(model: CrystalModel, steps: int | None, sampler: str | None = None):
    """The checkpoint's sampler, or ``sampler`` ("NAME" or "NAME:key=value,...", e.g. "renoise:start=0.5") with the
    checkpoint's number of steps unless ``steps`` is given."""
    from morphogen.samplers.registry import get_sampler

    spec = dict(model.sampler)
    if sampler:
        name, _, opts = sampler.partition(":")
        spec = {"name": name.strip(), "steps": spec.get("steps", 50)}
        for item in filter(None, (o.strip() for o in opts.split(","))):
            key, eq, val = item.partition("=")
            if not eq:
                raise ValueError(f"sampler option '{item}' in '{sampler}' is not key=value")
            spec[key.strip()] = _option_value(val.strip())
    name = spec.pop("name")
    if steps is not None:
        trained = spec.get("steps")
        if name == "bfn" and trained is not None and int(steps) != int(trained):
            warnings.warn(f"the periodic Bayesian flow was trained with {trained} steps; sampling with {steps}",
                          stacklevel=3)
        spec["steps"] = int(steps)
    return get_sampler(name, **spec)


def _decode(model: CrystalModel, lattice, coords, types, mask) -> list:
    """Sampled tensors -> list of Structures (None where the lattice is no cell)."""
    from morphogen.crystals.data import CrystalRecord, record_to_structure

    n = mask.sum(1).cpu().numpy()
    params = model.codec.decode(lattice, n)
    out = []
    for i in range(len(n)):
        k = int(n[i])
        rec = CrystalRecord(params[i], np.mod(coords[i, :k].double().cpu().numpy(), 1.0),
                            types[i, :k].cpu().numpy().astype(np.int64) + 1)
        try:
            out.append(record_to_structure(rec))
        except ValueError:
            out.append(None)
    return out


def sample_structures(model: CrystalModel, atomic_numbers: Sequence[np.ndarray] | None = None,
                      num_samples: int | None = None, steps: int | None = None, batch_size: int = 512,
                      seed: int = 0, sampler: str | None = None) -> list:
    """CSP (``atomic_numbers`` given, one cell per entry) or generation (``num_samples`` cells, atom counts drawn
    from the training histogram). Returns pymatgen Structures (None for a sample that is no cell).
    ``sampler``: override the checkpoint's sampler ("renoise", "renoise:start=0.5", ...; see :func:`make_sampler`)."""
    import torch

    from morphogen.crystals.data import pad_atoms

    gen = torch.Generator().manual_seed(seed)
    if model.task == "csp":
        if atomic_numbers is None:
            raise ValueError("a CSP model needs the compositions (atomic_numbers)")
        cells = list(atomic_numbers)
    else:
        if not num_samples:
            raise ValueError("generation needs num_samples > 0")
        if model.num_atoms is None:
            raise ValueError("this generation model has no histogram of atom counts (num_atoms) to draw cells from")
        counts = model.num_atoms.sample_numpy(int(num_samples), np.random.default_rng(seed))
        cells = [np.ones(int(k), dtype=np.int64) for k in counts]
    sampler = make_sampler(model, steps, sampler)
    sampler.check(model.joint)
    out = []
    model.denoiser.eval()
    for start in range(0, len(cells), batch_size):
        chunk = cells[start:start + batch_size]
        types, mask = pad_atoms(chunk)
        b, n = types.shape
        shapes = {"lattice": (b, 6), "frac_coords": (b, n, 3)}
        masks = {"frac_coords": mask.unsqueeze(-1)}
        cond = {"node_mask": mask, "num_atoms": mask.sum(1)}
        if model.task == "csp":
            cond["atom_types"] = types
        else:
            shapes["atom_types"] = (b, n)
            masks["atom_types"] = mask
        res = sampler.sample(model.joint, model.denoiser, shapes, masks=masks, condition=cond, generator=gen)
        t_out = types if model.task == "csp" else res.fields["atom_types"]
        out += _decode(model, res.fields["lattice"], res.fields["frac_coords"], t_out, mask)
    return out
