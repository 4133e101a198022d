"""What spectra adds to the core's training: a preset's molecules with their spectra, the split, the dataset and the
model; the fit is :func:`morphogen.train.entry.train_bundle`."""
from __future__ import annotations

import copy
import json
from pathlib import Path

from morphogen.spectra.errors import SpectraDataError

PRESET_DIR = Path(__file__).resolve().parent / "presets"
READERS = ("qm9-ir", "nmrshiftdb2")


def load_preset(name_or_path: str):
    from morphogen.bundle.preset import PresetError
    from morphogen.bundle.preset import load_preset as _load

    preset = _load(name_or_path, PRESET_DIR, "spectra")
    if preset.data.get("reader") not in READERS:
        raise PresetError(f"{preset.source}: data.reader must be one of {READERS}, got {preset.data.get('reader')!r}")
    return preset


REPOSITORY = Path(__file__).resolve().parents[3]  # a source checkout: its data/ holds the packed sets we made


def spectra_file(preset, data: str | Path | None) -> Path:
    """``data`` if given, else the preset's ``data.spectra``: under the repository when ``data.root`` is
    ``repository`` (a set we computed and committed, e.g. ``data/qm9_ir``), else under the data root."""
    if data is not None:
        return Path(data)
    from morphogen.utils.resources import data_root

    p = Path(preset.data["spectra"])
    if p.is_absolute():
        return p
    if preset.data.get("root") == "repository":
        if not (REPOSITORY / p).exists():
            raise SpectraDataError(str(REPOSITORY / p), "not found: the packed set ships with a source checkout of "
                                                        "the repository (or give --data)")
        return REPOSITORY / p
    return data_root() / p


def test_ids(preset) -> set[int]:
    """The GDSS QM9 test molecules (gdb numbers): never trained on."""
    from morphogen.utils.resources import data_root

    gdss = data_root() / "graphs" / "molecules" / "valid_idx_qm9.json"
    return {int(x) + 1 for x in json.loads(gdss.read_text())["valid_idxs"]}


def build_model(preset, overrides: dict | None = None):
    from morphogen.bundle.model import BundleMetadata
    from morphogen.spectra.models.bundle import SpectraModel
    from morphogen.utils.config import build

    dspec = copy.deepcopy(preset.denoiser)
    dspec.setdefault("args", {}).update(overrides or {})
    return SpectraModel(process=build(copy.deepcopy(preset.process)), denoiser=build(dspec), sampler=preset.sampler,
                        metadata=BundleMetadata(preset=preset.name), max_atoms=int(preset.data.get("max_atoms", 29)),
                        modalities=("ir",) if preset.data["reader"] == "qm9-ir" else ("c13", "h1"))


def nmr_split(preset, data=None, limit: int | None = None) -> dict:
    """The NMR preset's molecules: those of at most ``data.max_heavy_atoms`` heavy atoms (QM9's space: 9) cut by
    structure into ``{"train", "val", "test"}`` (:func:`morphogen.spectra.data.nmr.split_by_structure` with
    ``data.split``), and the larger ones of at most ``data.max_atoms`` atoms (hydrogens included) added to
    ``"train"`` only (``data.train_larger``): more shift-environment pairs to learn from, never tested on. The same
    call gives the same split everywhere."""
    from morphogen.spectra.data.nmr import heavy_atoms, nmr_molecules, split_by_structure

    d = preset.data
    bound = int(d.get("max_heavy_atoms", 9))
    larger = bool(d.get("train_larger", False))
    mols = nmr_molecules(spectra_file(preset, data), limit, None if larger else bound,
                         tuple(d.get("heavy_elements", ("C", "N", "O", "F"))), int(d.get("max_atoms", 29)))
    core = [m for m in mols if heavy_atoms(m) <= bound]
    sp = d.get("split", {})
    parts = split_by_structure(core, float(sp.get("test", 0.1)), float(sp.get("val", 0.05)), int(sp.get("seed", 0)))
    extra = [m for m in mols if heavy_atoms(m) > bound]
    parts["train"] = parts["train"] + extra
    parts["larger"] = extra
    return parts


def _batching(train_set) -> dict:
    """Size-bucketed batches trimmed to their largest molecule (:class:`~morphogen.train.data.SizeBucketSampler`,
    :func:`~morphogen.spectra.data.molecules.trim_padding`): the same records an epoch, about half the cost."""
    from morphogen.spectra.data.molecules import collate_trimmed, dataset_sizes
    from morphogen.train.data import SizeBucketSampler

    sizes = dataset_sizes(train_set)
    return {"collate": collate_trimmed, "shuffle": lambda n, seed, bs: SizeBucketSampler(sizes, bs, seed)}


def _nmr_data(preset, data, limit):
    from morphogen.spectra.data.molecules import SpectraDataset
    from morphogen.spectra.data.nmr import qm9_prior_molecules
    from morphogen.train.entry import TrainData, fingerprint

    d = preset.data
    parts = nmr_split(preset, data, limit)
    held = {m.extra["key"] for m in parts["val"] + parts["test"]}
    n_prior = int(d.get("prior_molecules", 0)) if not limit else min(int(d.get("prior_molecules", 0)), limit)
    prior = qm9_prior_molecules(n_prior, held, seed=int(d.get("split", {}).get("seed", 0)))
    n_predicted = 0
    if d.get("prior_spectra", "none") == "predicted" and prior:  # the shift predictor's lists for the QM9 molecules
        from morphogen.spectra.shifts import load_shift_predictor, with_predicted_spectra

        prior, n_predicted = with_predicted_spectra(prior, load_shift_predictor(d.get("shift_predictor")))
    elif d.get("prior_spectra", "none") not in ("none", "predicted"):
        raise SpectraDataError(str(preset.source), f"data.prior_spectra must be none or predicted, got "
                                                   f"{d.get('prior_spectra')!r}")
    max_atoms, drop, mods = int(d.get("max_atoms", 29)), float(d.get("formula_dropout", 0.5)), ("c13", "h1")
    repeat = int(d.get("nmr_repeat", 1))
    train_sets = [SpectraDataset(parts["train"], max_atoms, drop, modalities=mods, repeat=repeat)]
    if prior:
        train_sets.append(SpectraDataset(prior, max_atoms, drop, seed=1, modalities=mods))
    import torch

    train_set = torch.utils.data.ConcatDataset(train_sets)
    return TrainData(train_set, SpectraDataset(parts["val"], max_atoms, 0.0, modalities=mods), **_batching(train_set),
                     fingerprint=fingerprint({"ids": sorted(str(m.id) for m in parts["train"]), "prior": len(prior),
                                              "data": d}),
                     description=f"{len(parts['train'])} NMR training molecules ({len(parts['larger'])} of more than "
                                 f"{d.get('max_heavy_atoms', 9)} heavy atoms; x{repeat}), {len(prior)} QM9 prior "
                                 f"molecules ({n_predicted} with predicted shift lists, the rest without spectra), "
                                 f"{len(parts['val'])} validation and {len(parts['test'])} "
                                 f"held-out test molecules (split by structure)"), len(parts["train"]), len(prior)


def train(preset_name: str, out_dir, data=None, limit: int | None = None, overrides: dict | None = None,
          options=None, **trainer_kwargs):
    """Train on the preset's molecules: QM9 IR outside the GDSS test split (validation: 2 % of the rest, seeded),
    or NMRShiftDB2 split by structure plus the QM9 prior molecules (:func:`nmr_split`)."""
    preset = load_preset(preset_name)
    from morphogen.train.entry import train_bundle

    if preset.data["reader"] == "nmrshiftdb2":
        td, n_train, n_prior = _nmr_data(preset, data, limit)
        model = build_model(preset, overrides)
        model.metadata.notes.update(train_molecules=n_train, prior_molecules=n_prior)
        return train_bundle(model, td, preset.train, out_dir, options, **trainer_kwargs)
    from morphogen.spectra.data.molecules import SpectraDataset
    from morphogen.train.entry import TrainData, fingerprint

    mols, test, tr, val = ir_split(preset, data, limit)
    pool = tr + val
    d = preset.data
    max_atoms, drop = int(d.get("max_atoms", 29)), float(d.get("formula_dropout", 0.5))
    n_prior = int(d.get("prior_molecules", 0)) if not limit else min(int(d.get("prior_molecules", 0)), limit)
    prior = qm9_ir_prior(n_prior, mols, test, seed=0)
    model = build_model(preset, overrides)
    sets = [SpectraDataset(tr, max_atoms, drop, repeat=int(d.get("ir_repeat", 1)))]
    if prior:
        sets.append(SpectraDataset(prior, max_atoms, drop, seed=1))
    import torch

    train_set = torch.utils.data.ConcatDataset(sets)
    td = TrainData(train_set, SpectraDataset(val, max_atoms, 0.0), **_batching(train_set),
                   fingerprint=fingerprint({"ids": sorted(m.id for m in tr), "prior": len(prior), "data": d}),
                   description=f"{len(tr)} training and {len(val)} validation molecules ({len(mols) - len(pool)} "
                               f"of the file are GDSS test molecules, held out) and {len(prior)} QM9 prior molecules "
                               f"without spectra (no GDSS test molecule, none of the file)")
    model.metadata.notes.update(train_molecules=len(tr), prior_molecules=len(prior))
    return train_bundle(model, td, preset.train, out_dir, options, **trainer_kwargs)


def ir_split(preset, data=None, limit: int | None = None) -> tuple[list, set[int], list, list]:
    """The IR preset's molecules: (every molecule of the file, the GDSS test gdb numbers, training, validation).
    Training and validation are the file's molecules outside the test split (its first ``limit`` of them), 2 % of
    them (at least one) drawn with seed 0 for validation. The same call gives the same split everywhere."""
    import numpy as np

    from morphogen.spectra.data.molecules import qm9_ir_molecules

    mols = qm9_ir_molecules(spectra_file(preset, data))
    test = test_ids(preset)
    pool = [m for m in mols if m.id not in test]
    if limit:
        pool = pool[:limit]
    if len(pool) < 2:
        raise SpectraDataError(str(spectra_file(preset, data)), f"{len(pool)} training molecules outside the test split")
    order = np.random.default_rng(0).permutation(len(pool))
    n_val = max(1, len(pool) // 50)
    return mols, test, [pool[i] for i in order[n_val:]], [pool[i] for i in order[:n_val]]


def qm9_ir_prior(count: int, molecules, test: set[int], seed: int = 0) -> list:
    """``count`` QM9 molecules without spectra for the IR model (``data.prior_molecules``): drawn with ``seed``
    from QM9 outside every GDSS test molecule (``test``: gdb numbers, all 13,082, not only those of the file) and
    outside the file's ``molecules``, both by connectivity layer, so no held-out structure is ever trained on."""
    if count <= 0:
        return []
    from morphogen.molecules.qm9 import read_qm9
    from morphogen.spectra.data.nmr import connectivity_key, qm9_prior_molecules

    taken = {int(m.id) for m in molecules} | set(test)
    keys = {connectivity_key(r.smiles, r.where) for r in read_qm9() if r.index + 1 in taken}
    return qm9_prior_molecules(count, keys, seed=seed)
