"""The molecules a spectrum set is simulated for: QM9 with its B3LYP geometries, or a SMILES file.

* QM9 (:func:`qm9_molecules`) is read from ``qm9pack`` (:func:`morphogen.molecules.qm9.read_qm9`); a molecule's id
  is its gdb number (qm9pack's ``Index`` column, 1..133,885; ``dsgdb9nsd_{id:06d}`` in QM9's own files).
* ``--indices`` files (:func:`read_qm9_indices`) select QM9 molecules, in two formats told apart by their JSON type:

  - a JSON *list* of gdb numbers (ints or digit strings), e.g. ``[1, 2, 3]``;
  - a JSON *object* with the key ``"valid_idxs"``: GDSS's ``valid_idx_qm9.json``, whose entries are 0-based rows of
    the 133,885-row QM9 CSV in gdb order, so that gdb number = int(entry) + 1 (the convention of
    :mod:`morphogen.graphs.data.splits`, which reads the same file for GDSS's test split).

  qm9pack lacks 3,054 of the 133,885 molecules (those that failed QM9's consistency check); a selected number that
  it lacks is returned in ``missing`` (and written to ``failed.csv`` by the simulation), never dropped silently.
* A SMILES file (:func:`read_smiles_file`): one molecule a line, ``SMILES [name]``; empty lines and ``#`` comments
  skipped, a first line whose first field is ``smiles`` (any case) taken as a header. A molecule's id is its name
  if it has one, else its 1-based line number. Its geometry is embedded later, in the worker (:func:`embed_smiles`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from morphogen.spectra.errors import SimulationError, SpectraDataError

QM9_SIZE = 133_885  # molecules in QM9 (gdb numbers 1..133,885)


@dataclass
class Molecule:
    """One molecule to simulate: ``id`` (gdb number for QM9, name or line number for a SMILES file), ``smiles``,
    ``where`` (the file and line it came from), and for QM9 its geometry (``elements``, ``positions`` (n, 3)
    Angstrom, hydrogens included); without a geometry the worker embeds one from the SMILES."""

    id: int | str
    smiles: str
    where: str
    elements: tuple[str, ...] | None = None
    positions: np.ndarray | None = None


@dataclass
class Selection:
    """The molecules found (in the order asked for) and the ids asked for but not available, with the reason."""

    molecules: list[Molecule]
    missing: list[tuple[int | str, str, str]]  # (id, smiles, reason)


def read_qm9_indices(path: str | Path) -> list[int]:
    """gdb numbers (1-based) from an ``--indices`` file, in the file's order (see the module docstring for the two
    formats). A file that is not JSON, of another shape, with a non-integer, out-of-range or repeated entry, raises
    :class:`SpectraDataError` naming the file (and the entry)."""
    path = Path(path)
    if not path.is_file():
        raise SpectraDataError(str(path), "indices file not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SpectraDataError(str(path), f"not a JSON file ({err})") from None
    offset = 0
    if isinstance(data, dict):
        if "valid_idxs" not in data:
            raise SpectraDataError(str(path), f"a JSON object without the key 'valid_idxs' (GDSS's format); keys: "
                                              f"{sorted(data)[:5]}")
        data, offset = data["valid_idxs"], 1  # 0-based rows of the QM9 CSV -> gdb numbers
    if not isinstance(data, list):
        raise SpectraDataError(str(path), f"expected a JSON list of QM9 gdb numbers or GDSS's {{'valid_idxs': "
                                          f"[...]}}, got {type(data).__name__}")
    if not data:
        raise SpectraDataError(str(path), "no indices in the file")
    out: list[int] = []
    seen: dict[int, int] = {}
    for k, v in enumerate(data):
        if isinstance(v, bool) or not (isinstance(v, int) or (isinstance(v, str) and v.strip().isdigit())):
            raise SpectraDataError(str(path), f"entry {k} is {v!r}, not an integer or a digit string")
        gdb = int(v) + offset
        if not 1 <= gdb <= QM9_SIZE:
            what = f"row {int(v)} (gdb {gdb})" if offset else f"gdb number {gdb}"
            raise SpectraDataError(str(path), f"entry {k}: {what} is outside QM9's 1..{QM9_SIZE}")
        if gdb in seen:
            raise SpectraDataError(str(path), f"entry {k} repeats gdb {gdb} (entry {seen[gdb]})")
        seen[gdb] = k
        out.append(gdb)
    return out


def qm9_molecules(indices: list[int] | None = None, limit: int | None = None) -> Selection:
    """QM9 molecules with their B3LYP geometries from qm9pack: the first ``limit`` (all if None) of ``indices``
    (gdb numbers) or of QM9 in gdb order. Only the qm9pack rows up to the largest number asked for are read."""
    from morphogen.molecules.qm9 import read_qm9

    if indices is not None:
        wanted = indices[:limit] if limit is not None else list(indices)
        # qm9pack is in gdb order with gaps, so gdb g is among its first g rows
        recs = read_qm9(limit=max(wanted), geometries=True)
        by_gdb = {r.index + 1: r for r in recs}
        found, missing = [], []
        for g in wanted:
            r = by_gdb.get(g)
            if r is None:
                missing.append((g, "", f"gdb {g} is not in qm9pack (one of the 3,054 QM9 molecules that failed "
                                       f"QM9's consistency check)"))
            else:
                found.append(_qm9_molecule(r))
        return Selection(found, missing)
    return Selection([_qm9_molecule(r) for r in read_qm9(limit=limit, geometries=True)], [])


def _qm9_molecule(rec) -> Molecule:
    g = rec.geometry
    return Molecule(rec.index + 1, rec.smiles, rec.where, tuple(g.elements), np.asarray(g.positions))


def read_smiles_file(path: str | Path, limit: int | None = None) -> list[Molecule]:
    """The molecules of a SMILES file (see the module docstring), the first ``limit`` if given. A missing file, a
    line that is not UTF-8 text or holds a NUL byte, an empty file and a repeated id raise
    :class:`SpectraDataError` naming the file and line. A SMILES that RDKit cannot parse is not an error here: the
    worker reports it as a failure of that molecule (naming the line)."""
    path = Path(path)
    if not path.is_file():
        raise SpectraDataError(str(path), "SMILES file not found")
    out: list[Molecule] = []
    seen: dict[str, int] = {}
    with open(path, "rb") as fh:
        for k, raw in enumerate(fh, 1):
            where = f"{path}:{k}"
            try:
                line = raw.decode("utf-8-sig" if k == 1 else "utf-8").strip()
            except UnicodeDecodeError as err:
                raise SpectraDataError(where, f"the line is not UTF-8 text ({err.reason} at byte "
                                              f"{err.start})") from None
            if "\x00" in line:
                raise SpectraDataError(where, "NUL byte in the line (a binary file?)")
            if not line or line.startswith("#"):
                continue
            fields = line.split()
            if not out and not seen and fields[0].lower() == "smiles":
                seen[""] = k  # header line
                continue
            mid: int | str = fields[1] if len(fields) > 1 else k
            if str(mid) in seen:
                raise SpectraDataError(where, f"id {mid!r} is already used on line {seen[str(mid)]} (ids, the "
                                              f"second field or else the line number, must be unique)")
            seen[str(mid)] = k
            if limit is not None and len(out) >= limit:
                break
            out.append(Molecule(mid, fields[0], where))
    if not out:
        raise SpectraDataError(str(path), "no SMILES in the file")
    return out


def molecule_charge_spin(smiles: str, where: str):
    """(RDKit molecule, total formal charge, unpaired electrons) of a SMILES; :class:`SimulationError` naming
    ``where`` if RDKit cannot parse it."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles) if smiles else None
    if mol is None:
        raise SimulationError(f"{where}: RDKit cannot parse the SMILES {smiles!r}")
    charge = sum(a.GetFormalCharge() for a in mol.GetAtoms())
    uhf = sum(a.GetNumRadicalElectrons() for a in mol.GetAtoms())
    return mol, charge, uhf


EMBED_SEED = 20240601


def embed_molecule(mol, where: str):
    """An RDKit molecule with hydrogens added and one 3-D conformer: ETKDGv3 (fixed seed; random coordinates as a
    fallback), then MMFF94 (UFF where MMFF lacks parameters, neither where both do)."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    molh = Chem.AddHs(mol)
    params = AllChem.ETKDGv3()
    params.randomSeed = EMBED_SEED
    if AllChem.EmbedMolecule(molh, params) != 0:
        params.useRandomCoords = True
        if AllChem.EmbedMolecule(molh, params) != 0:
            raise SimulationError(f"{where}: RDKit (ETKDG) could not embed a 3-D geometry")
    if AllChem.MMFFHasAllMoleculeParams(molh):
        AllChem.MMFFOptimizeMolecule(molh, maxIters=2000)
    elif AllChem.UFFHasAllMoleculeParams(molh):
        AllChem.UFFOptimizeMolecule(molh, maxIters=2000)
    return molh


def embed_smiles(mol, where: str) -> tuple[tuple[str, ...], np.ndarray]:
    """(elements, (n, 3) Angstrom) of an RDKit molecule with hydrogens added (:func:`embed_molecule`). The GFN2
    relaxation follows in :func:`morphogen.spectra.data.ir.simulate_ir`."""
    molh = embed_molecule(mol, where)
    elements = tuple(a.GetSymbol() for a in molh.GetAtoms())
    return elements, np.array(molh.GetConformer().GetPositions(), dtype=np.float64)
