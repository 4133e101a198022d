"""The molecule benchmarks: QM9 (from the ``qm9pack`` package or a standard QM9 CSV), ZINC250k (standard CSV),
MOSES (``train/test/test_scaffolds.csv.gz``) and any SMILES CSV, with the GDSS test-index convention.

GDSS test indices (``valid_idx_qm9.json``, ``valid_idx_zinc250k.json``):
    * ZINC250k: a JSON list of 0-based row indices into the standard CSV ``250k_rndm_zinc_drugs_clean_3.csv``.
    * QM9: ``{"valid_idxs": ["007278", ...]}``; GDSS reads ``int(s)`` as a 0-based row of the 133,885-row QM9 CSV
      (gdb order), i.e. the test molecule of entry ``s`` is ``dsgdb9nsd_{s + 1}`` (MoFlow, where the file comes
      from, subtracted 1; GDSS does not, and we follow GDSS so that numbers compare). ``qm9pack`` ships 130,831 of
      the 133,885 molecules (those of the QM9 consistency check) in gdb order with the gdb number in its ``Index``
      column, so the mapping is ``Index == int(s) + 1``; test entries whose molecule qm9pack lacks are reported
      in ``Split.missing`` (never silently dropped).
"""
from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import torch

from morphogen.graphs.data.dense import DenseGraphs
from morphogen.graphs.data.errors import GraphDataError, load_json
from morphogen.graphs.data.molecules import (
    QM9_ATOMS,
    QM9_MAX_NODES,
    ZINC250K_ATOMS,
    ZINC250K_MAX_NODES,
    featurize_smiles,
    read_smiles_csv,
)


@dataclass
class MoleculeSet:
    """A featurised molecule benchmark: ``graphs`` (dense tensors) and ``ids`` (B,) long, the row index of each
    molecule in the benchmark's standard order (gdb number - 1 for QM9, CSV row for ZINC250k / MOSES)."""

    graphs: DenseGraphs
    ids: torch.Tensor
    source: str


@dataclass
class Split:
    """Positions (into a :class:`MoleculeSet`) of the train and test molecules; ``missing`` lists test ids that
    the set does not contain."""

    train: torch.Tensor
    test: torch.Tensor
    missing: list[int] = field(default_factory=list)


def qm9pack_files() -> list[Path]:
    """The CSV files of the installed ``qm9pack`` (found without importing it: its ``__init__`` needs setuptools)."""
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the 'qm9pack' package is not installed (pip install qm9pack, or pass a QM9 CSV path)")
    root = Path(list(spec.submodule_search_locations)[0]) / "data"
    files = [root / f"qm9_part{i}.csv" for i in (1, 2, 3)]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"qm9pack is installed but lacks {missing}")
    return files


def _qm9_records(path: str | Path | None) -> list[tuple[str, str, int]]:
    """(where, smiles, row id) of QM9 from qm9pack or from a standard QM9 CSV (``SMILES1`` or ``smiles`` column;
    an ``Index`` / ``gdb_idx`` / ``mol_id`` column gives the gdb number, else the row order is used)."""
    files = qm9pack_files() if path is None else [Path(path)]
    out = []
    for f in files:
        if not f.is_file():
            raise FileNotFoundError(f"QM9 file not found: {f}")
        with open(f, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader)]
            lower = [h.lower() for h in header]
            scol = next((lower.index(c) for c in ("smiles1", "smiles") if c in lower), None)
            if scol is None:
                raise GraphDataError(f"{f}:1", f"no SMILES column (SMILES1 or smiles) in {header}")
            icol = next((lower.index(c) for c in ("index", "gdb_idx", "mol_id") if c in lower), None)
            for row in reader:
                where = f"{f}:{reader.line_num}"
                if icol is None:
                    gdb = len(out) + 1
                else:
                    raw = row[icol].strip()
                    digits = "".join(ch for ch in raw if ch.isdigit())
                    if not digits:
                        raise GraphDataError(where, f"cannot read a gdb number from '{raw}'")
                    gdb = int(digits)
                out.append((where, row[scol].strip(), gdb - 1))
    return out


def load_qm9(path: str | Path | None = None, skip_invalid: bool = False, limit: int | None = None) -> MoleculeSet:
    """QM9 with GDSS's features: atoms C N O F, N = 9, bond orders in A. ``path=None`` reads qm9pack."""
    recs = _qm9_records(path)
    if limit is not None:
        recs = recs[:limit]
    graphs = featurize_smiles([(w, s) for w, s, _ in recs], QM9_ATOMS, QM9_MAX_NODES, skip_invalid)
    keep = _kept(recs, graphs)
    return MoleculeSet(graphs, torch.tensor([recs[i][2] for i in keep]), "qm9" if path is None else str(path))


def load_smiles_set(path: str | Path, atoms=ZINC250K_ATOMS, max_nodes: int | None = ZINC250K_MAX_NODES,
                    column: str = "smiles", skip_invalid: bool = False, limit: int | None = None) -> MoleculeSet:
    """Any SMILES CSV (ZINC250k, MOSES ``*.csv.gz``, ``zinc_800_jt.csv``); ids are the data-row indices."""
    recs = read_smiles_csv(path, column)
    if limit is not None:
        recs = recs[:limit]
    graphs = featurize_smiles(recs, atoms, max_nodes, skip_invalid)
    keep = _kept([(w, s, i) for i, (w, s) in enumerate(recs)], graphs)
    return MoleculeSet(graphs, torch.tensor(keep), str(path))


def load_zinc250k(path: str | Path, skip_invalid: bool = False, limit: int | None = None) -> MoleculeSet:
    """The standard ZINC250k CSV (``smiles`` column), GDSS's nine atom types, N = 38."""
    return load_smiles_set(path, ZINC250K_ATOMS, ZINC250K_MAX_NODES, "smiles", skip_invalid, limit)


def load_moses(folder: str | Path, split: str = "train", skip_invalid: bool = False, limit: int | None = None,
               max_nodes: int = 27) -> MoleculeSet:
    """MOSES ``{train,test,test_scaffolds}.csv.gz`` (column ``SMILES``); atoms C N O F S Cl Br (within the ZINC
    vocabulary), at most 27 heavy atoms in MOSES."""
    path = Path(folder) / f"{split}.csv.gz"
    return load_smiles_set(path, ZINC250K_ATOMS, max_nodes, "SMILES", skip_invalid, limit)


def _kept(recs, graphs: DenseGraphs) -> list[int]:
    """Positions of ``recs`` that survived featurisation (those not listed as skipped)."""
    if not graphs.skipped:
        return list(range(len(recs)))
    bad = {s.split(": ", 1)[0] for s in graphs.skipped}
    return [i for i, r in enumerate(recs) if r[0] not in bad]


def read_test_indices(path: str | Path) -> list[int]:
    """GDSS test indices as 0-based row ids (see the module docstring for the QM9 convention)."""
    path = Path(path)
    data = load_json(path)
    if isinstance(data, dict):
        if "valid_idxs" not in data:
            raise GraphDataError(str(path), "a JSON object without 'valid_idxs'")
        data = data["valid_idxs"]
    try:
        return [int(i) for i in data]
    except (TypeError, ValueError) as err:
        raise GraphDataError(str(path), f"indices must be integers or digit strings ({err})") from None


def gdss_split(molecules: MoleculeSet, test_index_path: str | Path) -> Split:
    """Train / test positions by the GDSS test indices; train is every molecule not in the test list."""
    test_ids = read_test_indices(test_index_path)
    pos = {int(r): k for k, r in enumerate(molecules.ids.tolist())}
    test = [pos[i] for i in test_ids if i in pos]
    missing = [i for i in test_ids if i not in pos]
    tset = set(test)
    train = [k for k in range(len(molecules.ids)) if k not in tset]
    return Split(torch.tensor(train, dtype=torch.long), torch.tensor(test, dtype=torch.long), missing)
