"""The input of ``morphogen spectra elucidate``: JSON lines, one record per molecule.

``{"id": ..., "ir": {"wavenumber": [...], "intensity": [...]}, "nmr_13c": [ppm, ...], "nmr_1h": [ppm, ...],
"formula": "C4H8O", "num_atoms": 13, "smiles": "..."}``: any subset of the modalities the model knows; ``formula``
(Hill or any order, hydrogens included) or ``num_atoms`` (all atoms, hydrogens included: DiffSpectra's protocol)
gives the atom count; ``smiles``, when present, is the truth (for pictures and ``evaluate``); the output of
``simulate`` is such a file. A record with NaN, a wrong IR grid, an empty shift list, an unknown element or a SMILES
that does not parse is refused naming its line.

A line of the NMRShiftDB2 JSON-lines export (``SMILES`` and ``"Spectrum 13C 0"``-style keys, see
:mod:`morphogen.spectra.data.nmrshiftdb2`) is read too: its chosen experimental 13C and 1H lists become ``nmr_13c`` /
``nmr_1h``, its SMILES the truth, its ``nmrshiftdb2 ID`` the id, and its formula (hydrogens included) is computed
from the SMILES, as a chemist would have it from mass spectrometry (imposed only with ``--formula-known``).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from morphogen.spectra.data.molecules import ELEMENTS, check_ir, iter_spectra
from morphogen.spectra.errors import SpectraDataError

FORMULA = re.compile(r"([A-Z][a-z]?)(\d*)")


def parse_formula(text: str, where: str, elements=ELEMENTS) -> np.ndarray:
    """``"C4H8O"`` -> counts (len(elements),), hydrogens included."""
    if not isinstance(text, str) or not text or FORMULA.sub("", text):
        raise SpectraDataError(where, f"formula {text!r} is not a molecular formula like 'C4H8O'")
    counts = np.zeros(len(elements), dtype=np.int64)
    for sym, num in FORMULA.findall(text):
        if sym not in elements:
            raise SpectraDataError(where, f"formula {text!r}: element {sym} is not one of the model's {list(elements)}")
        counts[elements.index(sym)] += int(num) if num else 1
    return counts


def _shifts(values, name: str, where: str) -> list[float]:
    if not isinstance(values, list) or not values:
        raise SpectraDataError(where, f"{name} must be a non-empty list of shifts in ppm")
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError):
        raise SpectraDataError(where, f"{name} holds a value that is not a number") from None
    if not all(math.isfinite(v) for v in out):
        raise SpectraDataError(where, f"{name} holds NaN or infinite shifts")
    return sorted(out)


@dataclass
class SpectraRecord:
    """One parsed input record: id, the model's condition tensors, formula counts (or None), atom count, truth."""

    id: object
    where: str
    condition: dict
    num_atoms: int
    formula: np.ndarray | None
    smiles: str | None = None
    extra: dict = field(default_factory=dict)

    def as_job(self) -> dict:
        return {"id": self.id, "condition": self.condition, "num_atoms": self.num_atoms, "formula": self.formula}


def formula_of_smiles(smiles: str, where: str) -> str:
    """The molecular formula of a SMILES, hydrogens included (Hill order: C, H, then alphabetical)."""
    from collections import Counter

    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) else None
    if mol is None:
        raise SpectraDataError(where, f"SMILES {smiles!r} does not parse")
    counts = Counter(a.GetSymbol() for a in Chem.AddHs(mol).GetAtoms())
    order = [e for e in ("C", "H") if e in counts] + sorted(e for e in counts if e not in ("C", "H"))
    return "".join(f"{e}{counts[e] if counts[e] > 1 else ''}" for e in order)


def from_nmrshiftdb2(data: dict, where: str) -> dict:
    """An NMRShiftDB2 export line as an elucidation record (see the module docstring)."""
    from morphogen.spectra.data.nmrshiftdb2 import with_chosen_spectra, parse_record

    rec = with_chosen_spectra(parse_record(data, where), False)
    if rec.c13 is None and rec.h1 is None:
        raise SpectraDataError(where, "an NMRShiftDB2 record without an experimental 13C or 1H spectrum")
    out = {"id": rec.nmrshiftdb_id if rec.nmrshiftdb_id is not None else where, "smiles": rec.smiles,
           "formula": formula_of_smiles(rec.smiles, where)}
    if rec.c13 is not None:
        out["nmr_13c"] = list(rec.c13)
    if rec.h1 is not None:
        out["nmr_1h"] = list(rec.h1)
    return out


def read_records(path: str | Path, modalities=("ir",), max_atoms: int = 29, max_shifts: int = 64,
                 elements=ELEMENTS) -> list[SpectraRecord]:
    """Parse every record of ``path`` (see the module docstring) for a model of ``modalities``."""
    out, seen = [], set()
    for where, rec in iter_spectra(path):
        if "SMILES" in rec and any(str(k).startswith("Spectrum ") for k in rec):
            rec = from_nmrshiftdb2(rec, where)
        rid = rec.get("id", where)
        if rid in seen:
            raise SpectraDataError(where, f"id {rid!r} appears twice")
        seen.add(rid)
        cond: dict = {}
        if "ir" in rec:
            if "ir" not in modalities:
                raise SpectraDataError(where, f"an IR spectrum, but the model reads {list(modalities)}")
            cond["ir"] = torch.as_tensor(check_ir(rec["ir"], where))
            cond["ir_present"] = torch.tensor(True)
        for key, name in (("nmr_13c", "c13"), ("nmr_1h", "h1")):
            if key in rec:
                if name not in modalities:
                    raise SpectraDataError(where, f"{key}, but the model reads {list(modalities)}")
                v = _shifts(rec[key], key, where)
                if len(v) > max_shifts:
                    raise SpectraDataError(where, f"{key} holds {len(v)} shifts, more than the limit of {max_shifts}")
                pad = torch.zeros(max_shifts)
                pad[: len(v)] = torch.as_tensor(v)
                m = torch.zeros(max_shifts, dtype=torch.bool)
                m[: len(v)] = True
                cond[name], cond[f"{name}_mask"] = pad, m
        if not cond:
            raise SpectraDataError(where, f"no spectrum the model reads ({list(modalities)})")
        formula = parse_formula(rec["formula"], where, elements) if rec.get("formula") is not None else None
        n = int(formula.sum()) if formula is not None else rec.get("num_atoms")
        if formula is not None and rec.get("num_atoms") not in (None, n):
            raise SpectraDataError(where, f"num_atoms {rec['num_atoms']} disagrees with formula {rec['formula']} ({n})")
        if not isinstance(n, int) or n < 1:
            raise SpectraDataError(where, "the atom count is unknown: give 'formula' or 'num_atoms' (hydrogens included)")
        if n > max_atoms:
            raise SpectraDataError(where, f"{n} atoms, more than the model's {max_atoms}")
        f = formula if formula is not None else np.zeros(len(elements), dtype=np.int64)
        cond["formula"] = torch.as_tensor(f, dtype=torch.float32)
        cond["formula_present"] = torch.tensor(formula is not None)
        smiles = rec.get("smiles")
        if smiles is not None:
            from rdkit import Chem, RDLogger

            RDLogger.DisableLog("rdApp.*")
            if Chem.MolFromSmiles(smiles) is None:
                raise SpectraDataError(where, f"SMILES {smiles!r} does not parse")
        out.append(SpectraRecord(rid, where, cond, n, formula, smiles))
    if not out:
        raise SpectraDataError(str(path), "no records")
    return out
