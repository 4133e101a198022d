"""Featurised molecule benchmarks read from SMILES CSVs: ZINC250k (the standard CSV), MOSES
(``train/test/test_scaffolds.csv.gz``) and any SMILES CSV, with GDSS's atom vocabularies and padded sizes.
QM9 is in :mod:`morphogen.molecules.qm9`.

Every reader names the file and line of a record it cannot use; nothing is dropped unless ``skip_invalid`` is set,
and then the skipped records are listed in ``molecules.skipped``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from morphogen.molecules.convert import DenseMolecules, featurize_smiles
from morphogen.molecules.io import read_smiles_csv

#: GDSS / MoFlow's ZINC250k vocabulary (column order of the one-hot features) and its padded size
ZINC250K_ATOMS: tuple[str, ...] = ("C", "N", "O", "F", "P", "S", "Cl", "Br", "I")
ZINC250K_MAX_ATOMS = 38
#: MOSES molecules have at most 27 heavy atoms, of C N O F S Cl Br (within the ZINC250k vocabulary)
MOSES_MAX_ATOMS = 27


@dataclass
class MoleculeSet:
    """A featurised molecule benchmark.

    Attributes:
        molecules: the dense tensors (B molecules).
        ids: (B,) long, the row of every molecule in the benchmark's standard order (gdb number - 1 for QM9, the
            data row for ZINC250k / MOSES / SMILES CSVs).
        source: where it was read from (``"qm9"`` for qm9pack, else the path).
        geometries: per molecule, its 3-D structure when the source has one and it was asked for (QM9), else None.
    """

    molecules: DenseMolecules
    ids: torch.Tensor
    source: str
    geometries: list | None = None


def load_smiles_set(path: str | Path, atoms: Sequence[str] = ZINC250K_ATOMS, max_atoms: int | None = ZINC250K_MAX_ATOMS,
                    column: str = "smiles", skip_invalid: bool = False, limit: int | None = None) -> MoleculeSet:
    """Any SMILES CSV (ZINC250k, MOSES ``*.csv.gz``, ``zinc_800_jt.csv``); ids are the data-row indices."""
    recs = read_smiles_csv(path, column)
    if limit is not None:
        recs = recs[:limit]
    mols = featurize_smiles(recs, atoms, max_atoms, skip_invalid)
    return MoleculeSet(mols, mols.index.clone(), str(path))


def load_zinc250k(path: str | Path, skip_invalid: bool = False, limit: int | None = None) -> MoleculeSet:
    """The standard ZINC250k CSV (``smiles`` column), GDSS's nine atom types, N = 38."""
    return load_smiles_set(path, ZINC250K_ATOMS, ZINC250K_MAX_ATOMS, "smiles", skip_invalid, limit)


def load_moses(folder: str | Path, split: str = "train", skip_invalid: bool = False, limit: int | None = None,
               max_atoms: int = MOSES_MAX_ATOMS) -> MoleculeSet:
    """MOSES ``{train,test,test_scaffolds}.csv.gz`` (column ``SMILES``) in the ZINC250k vocabulary."""
    path = Path(folder) / f"{split}.csv.gz"
    return load_smiles_set(path, ZINC250K_ATOMS, max_atoms, "SMILES", skip_invalid, limit)
