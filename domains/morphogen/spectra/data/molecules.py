"""Molecules with spectra as training and evaluation records, and their padded tensors for the joint process.

A :class:`SpectrumMolecule` holds a molecule's graph and 3-D geometry in one atom order (hydrogens included: the
bonds of its SMILES mapped onto the geometry's atoms by :func:`morphogen.molecules.geometry.match_geometry`), and
its spectra: an IR spectrum on the fixed grid (``spectra.jsonl`` of ``morphogen spectra simulate``) and / or
13C and 1H shift lists.

Tensors of one molecule padded to ``max_atoms`` (:func:`featurize`):
``atoms`` (N,) element class (:data:`ELEMENTS` order), ``bonds`` (P,) over the pairs i < j (0 none, 1 single,
2 double, 3 triple; Kekulé form), ``pos`` (N, 3) centred Angstrom, with the atom mask (N,) and the pair mask (P,).
"""
from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from morphogen.spectra.errors import SpectraDataError

#: the element classes of the atoms field (QM9's elements, hydrogen first)
ELEMENTS: tuple[str, ...] = ("H", "C", "N", "O", "F")
#: QM9's largest molecule, hydrogens included
QM9_MAX_ATOMS = 29
#: the IR grid of ``morphogen spectra simulate`` (cm^-1)
IR_GRID = (400.0, 4000.0, 2.0)
IR_POINTS = 1801


@dataclass
class SpectrumMolecule:
    """One molecule: ``id``, ``smiles`` (the truth), ``elements`` (n,), ``pos`` (n, 3) Angstrom, ``bonds`` (m, 2)
    atom pairs i < j with ``orders`` (m,) in {1, 2, 3}, ``ir`` (1801,) on :data:`IR_GRID` or None, ``c13`` /
    ``h1`` shift lists (ppm) or None, and ``where`` (file and line)."""

    id: int | str
    smiles: str
    elements: tuple[str, ...]
    pos: np.ndarray
    bonds: np.ndarray
    orders: np.ndarray
    ir: np.ndarray | None = None
    c13: list[float] | None = None
    h1: list[float] | None = None
    where: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def num_atoms(self) -> int:
        return len(self.elements)

    def formula_counts(self) -> np.ndarray:
        """(len(ELEMENTS),) element counts, hydrogens included."""
        return np.asarray([sum(e == x for e in self.elements) for x in ELEMENTS], dtype=np.float32)


def _open(path: Path):
    """A text reader of a spectra file; a UTF-8 byte order mark (Windows editors write one) is skipped."""
    enc = "utf-8-sig"
    return gzip.open(path, "rt", encoding=enc) if path.suffix == ".gz" else open(path, encoding=enc)


def check_ir(values, where: str) -> np.ndarray:
    """An IR record's ``{"wavenumber": [...], "intensity": [...]}`` as (1801,) intensities on :data:`IR_GRID`;
    a wrong grid, NaN, negative or all-zero intensities raise :class:`SpectraDataError` naming ``where``."""
    if not isinstance(values, dict) or "intensity" not in values:
        raise SpectraDataError(where, "ir must be {'wavenumber': [...], 'intensity': [...]}")
    inten = np.asarray(values["intensity"], dtype=np.float64)
    wn = np.asarray(values.get("wavenumber", []), dtype=np.float64)
    lo, hi, step = IR_GRID
    grid = lo + step * np.arange(IR_POINTS)
    if wn.shape != grid.shape or not np.allclose(wn, grid, atol=1e-6):
        got = f"{wn.size} points from {wn.min():g} to {wn.max():g}" if wn.size else "no wavenumbers"
        raise SpectraDataError(where, f"IR spectrum on another grid ({got}); the model's grid is {lo:g}-{hi:g} "
                                      f"cm^-1 step {step:g} ({IR_POINTS} points)")
    if inten.shape != grid.shape:
        raise SpectraDataError(where, f"{inten.size} IR intensities for {IR_POINTS} wavenumbers")
    if not np.isfinite(inten).all():
        raise SpectraDataError(where, "IR intensities hold NaN or infinite values")
    if (inten < 0).any() or inten.max() <= 0:
        raise SpectraDataError(where, "IR intensities must be >= 0 and not all zero")
    return (inten / inten.max()).astype(np.float32)


def iter_spectra(path: str | Path) -> Iterator[tuple[str, dict]]:
    """``(where, record)`` of a JSON-lines spectra file (``.jsonl`` or ``.jsonl.gz``); a line that is not a JSON
    object names its line. A folder of `spectra pack` shards reads as the file it was packed from."""
    p = Path(path)
    from morphogen.spectra.data.shards import is_packed, iter_packed

    if is_packed(p):
        yield from iter_packed(p)
        return
    if not p.is_file():
        raise SpectraDataError(str(p), "no such file")
    with _open(p) as fh:
        k = 0
        while True:
            try:
                line = fh.readline()
            except (UnicodeDecodeError, EOFError, OSError) as err:  # binary, truncated gzip, not gzip
                raise SpectraDataError(f"{p}:{k + 1}", f"not a UTF-8 JSON-lines file ({type(err).__name__})") from None
            if not line:
                break
            k += 1
            if not line.strip():
                continue
            where = f"{p}:{k}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                raise SpectraDataError(where, f"not a JSON record ({err.msg})") from None
            if not isinstance(rec, dict):
                raise SpectraDataError(where, "a record must be a JSON object")
            yield where, rec


def qm9_ir_molecules(path: str | Path, limit: int | None = None, ids: Sequence[int] | None = None
                     ) -> list[SpectrumMolecule]:
    """The molecules of a ``spectra simulate --molecules qm9`` output with their QM9 B3LYP geometries (in
    ``spectra.jsonl`` order, or ``ids``' order), their SMILES bonds mapped onto the geometry. A molecule whose
    geometry does not hold its SMILES graph (QM9 has such; their relaxation broke or made a bond) has no consistent
    truth: it is skipped, and the skips are counted and printed."""
    from morphogen.molecules.geometry import match_geometry
    from morphogen.molecules.qm9 import read_qm9

    wanted = None if ids is None else {int(i) for i in ids}
    recs = []
    for where, rec in iter_spectra(path):
        gdb = rec.get("id")
        if not isinstance(gdb, int):
            raise SpectraDataError(where, f"a QM9 record's id must be its gdb number, got {gdb!r}")
        if wanted is not None and gdb not in wanted:
            continue
        recs.append((where, rec))
        if limit and len(recs) >= limit and wanted is None:
            break
    from morphogen.molecules.errors import MoleculeDataError

    geo = {r.index + 1: r for r in read_qm9(geometries=True, gdb={int(rec["id"]) for _, rec in recs})}
    out, skipped = [], []
    for where, rec in recs:
        q = geo.get(rec["id"])
        if q is None:
            raise SpectraDataError(where, f"gdb {rec['id']} is not in qm9pack")
        try:
            g = match_geometry(q.smiles, q.geometry.elements, q.geometry.positions, name=f"{where} (gdb {rec['id']})")
        except MoleculeDataError as err:  # QM9's relaxed geometry lost the SMILES graph: no consistent truth
            skipped.append(str(err))
            continue
        bad = [e for e in g.elements if e not in ELEMENTS]
        if bad:
            raise SpectraDataError(where, f"element(s) {sorted(set(bad))} outside {ELEMENTS}")
        pos = g.positions - g.positions.mean(0)
        out.append(SpectrumMolecule(rec["id"], q.smiles, g.elements, pos, g.bonds, g.orders,
                                    ir=check_ir(rec.get("ir"), where), where=where))
    if skipped:
        print(f"{path}: skipped {len(skipped)} molecules whose B3LYP geometry does not hold their SMILES graph "
              f"(first: {skipped[0]})")
    if ids is not None:
        order = {int(i): k for k, i in enumerate(ids)}
        out.sort(key=lambda m: order[m.id])
    return out


#: shift tokens per nucleus a training molecule may carry (one per carbon / hydrogen of a 29-atom molecule at most)
MAX_SHIFTS = 32


def featurize(mol: SpectrumMolecule, max_atoms: int = QM9_MAX_ATOMS, max_shifts: int = MAX_SHIFTS
              ) -> dict[str, Tensor]:
    """Padded tensors of one molecule (see the module docstring); its shift lists as ``c13`` / ``h1`` (S,) ppm with
    ``c13_mask`` / ``h1_mask`` (S,), S = ``max_shifts``."""
    n = mol.num_atoms
    if n > max_atoms:
        raise SpectraDataError(mol.where or str(mol.id), f"{n} atoms, more than the model's {max_atoms}")

    atoms = torch.zeros(max_atoms, dtype=torch.long)
    atoms[:n] = torch.as_tensor([ELEMENTS.index(e) for e in mol.elements])
    dense = torch.zeros(max_atoms, max_atoms, dtype=torch.long)
    if len(mol.bonds):
        b = torch.as_tensor(mol.bonds, dtype=torch.long)
        o = torch.as_tensor(mol.orders, dtype=torch.long)
        if (o < 1).any() or (o > 3).any():
            raise SpectraDataError(mol.where or str(mol.id), f"bond orders {sorted(set(o.tolist()))}: only 1-3 "
                                                             "(Kekulé form) are modelled")
        dense[b[:, 0], b[:, 1]] = o
        dense[b[:, 1], b[:, 0]] = o
    i, j = torch.triu_indices(max_atoms, max_atoms, 1)
    node = torch.zeros(max_atoms, dtype=torch.bool)
    node[:n] = True
    pos = torch.zeros(max_atoms, 3)
    pos[:n] = torch.as_tensor(mol.pos, dtype=torch.float32)
    pos[:n] -= pos[:n].mean(0)
    out = {"atoms": atoms, "bonds": dense[i, j], "pos": pos, "atom_mask": node, "pair_mask": node[i] & node[j],
           "formula": torch.as_tensor(mol.formula_counts())}
    if mol.ir is not None:
        out["ir"] = torch.as_tensor(mol.ir)
    for name in ("c13", "h1"):
        shifts = getattr(mol, name)
        if shifts is None:
            continue
        if len(shifts) > max_shifts:
            raise SpectraDataError(mol.where or str(mol.id), f"{len(shifts)} {name} shifts, more than {max_shifts}")
        v, m = torch.zeros(max_shifts), torch.zeros(max_shifts, dtype=torch.bool)
        v[: len(shifts)] = torch.as_tensor(sorted(shifts), dtype=torch.float32)
        m[: len(shifts)] = True
        out[name], out[f"{name}_mask"] = v, m
    return out


class SpectraDataset(torch.utils.data.Dataset):
    """Training items ``{"fields": {atoms, bonds, pos}, "masks": {...}, "condition": {ir, ir_present, formula,
    formula_present, c13, c13_mask, h1, h1_mask}}``; the formula token is dropped with probability
    ``formula_dropout`` (one model then serves with and without a known formula), deterministically per (seed,
    index, epoch draw). ``modalities`` ("ir", "c13", "h1"): the condition keys every item carries; a molecule without
    that spectrum (a QM9 prior molecule of the NMR model) gets it absent (``ir_present`` False, an all-False shift
    mask), so one batch mixes molecules with and without spectra. ``repeat``: each molecule stands this many times
    in one epoch (to weigh a small spectral set against a large prior set)."""

    def __init__(self, molecules: Sequence[SpectrumMolecule], max_atoms: int = QM9_MAX_ATOMS,
                 formula_dropout: float = 0.5, seed: int = 0, modalities: Sequence[str] = ("ir",), repeat: int = 1):
        self.items = [featurize(m, max_atoms) for m in molecules] * max(1, int(repeat))
        self.formula_dropout, self.seed = float(formula_dropout), int(seed)
        self.modalities = tuple(modalities)
        self._draw = 0

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, k: int) -> dict:
        it = self.items[k]
        self._draw += 1
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + k * 7919 + self._draw)
        keep_formula = bool(torch.rand((), generator=g) >= self.formula_dropout)
        cond = {"formula": it["formula"], "formula_present": torch.tensor(keep_formula)}
        if "ir" in self.modalities:
            has = "ir" in it
            cond.update(ir=it["ir"] if has else torch.zeros(IR_POINTS), ir_present=torch.tensor(has))
        for name in ("c13", "h1"):
            if name in self.modalities:
                cond[name] = it.get(name, torch.zeros(MAX_SHIFTS))
                cond[f"{name}_mask"] = it.get(f"{name}_mask", torch.zeros(MAX_SHIFTS, dtype=torch.bool))
        return {"fields": {"atoms": it["atoms"], "bonds": it["bonds"], "pos": it["pos"]},
                "masks": {"atoms": it["atom_mask"], "bonds": it["pair_mask"], "pos": it["atom_mask"][:, None]},
                "condition": cond}


def trim_padding(batch: dict) -> dict:
    """A collated batch cut to its largest molecule: ``atoms`` / ``pos`` and their masks to (B, n) with n the most
    atoms of any row, ``bonds`` and its mask to the n (n - 1) / 2 pairs i < j < n (still in ``triu_indices(n, n, 1)``
    order, since those pairs come first-row-first in the padded order too). The pair features cost ~N^2: a batch of
    QM9-sized molecules (18 atoms on average, 29 at most) costs about half as much trimmed."""
    fields, masks = batch["fields"], batch["masks"]
    node = masks["atoms"]
    big = node.shape[1]
    n = max(1, int(node.sum(1).max()))
    if n == big:
        return batch
    i, j = torch.triu_indices(big, big, 1)
    keep = (j < n)  # i < j, so j < n implies i < n
    out = dict(batch)
    out["fields"] = {**fields, "atoms": fields["atoms"][:, :n], "bonds": fields["bonds"][:, keep],
                     "pos": fields["pos"][:, :n]}
    out["masks"] = {**masks, "atoms": node[:, :n], "bonds": masks["bonds"][:, keep], "pos": masks["pos"][:, :n]}
    return out


def collate_trimmed(items: Sequence[dict]) -> dict:
    """``default_collate`` then :func:`trim_padding`: the training collate of the spectra models."""
    return trim_padding(torch.utils.data.default_collate(list(items)))


def dataset_sizes(dataset) -> list[int]:
    """Atoms per item of a :class:`SpectraDataset` or a ``ConcatDataset`` of them (for the size-bucket sampler)."""
    parts = dataset.datasets if isinstance(dataset, torch.utils.data.ConcatDataset) else [dataset]
    return [int(it["atom_mask"].sum()) for d in parts for it in d.items]
