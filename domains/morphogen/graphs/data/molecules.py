"""Molecules as graphs, the way GDSS (after MoFlow) builds them: canonical SMILES, kekulized with RDKit, hydrogens
implicit, atom types one-hot (the element only: formal charges are not features; GDSS restores N+/O+/S+ from the
valence when decoding), bond orders 1/2/3 in the adjacency.

Every reader names the file and line of a record it cannot use; nothing is dropped unless ``skip_invalid`` is set,
and then the skipped records are listed in ``DenseGraphs.skipped``.
"""
from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import Iterable, Sequence

import torch

from morphogen.graphs.data.dense import DenseGraphs
from morphogen.graphs.data.errors import GraphDataError

#: GDSS / MoFlow atom vocabularies (column order of the one-hot features)
QM9_ATOMS: tuple[str, ...] = ("C", "N", "O", "F")
ZINC250K_ATOMS: tuple[str, ...] = ("C", "N", "O", "F", "P", "S", "Cl", "Br", "I")
#: largest heavy-atom count in each benchmark (the padded N of GDSS)
QM9_MAX_NODES, ZINC250K_MAX_NODES = 9, 38
BOND_ORDERS = {"SINGLE": 1, "DOUBLE": 2, "TRIPLE": 3}


def _open_text(path: Path):
    return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def read_smiles_csv(path: str | Path, column: str = "smiles") -> list[tuple[str, str]]:
    """(where, smiles) for every data row of a CSV (``.csv`` or ``.csv.gz``) with a header naming ``column``.

    ``where`` is ``"path:line"`` (1-based, the header is line 1; the standard ZINC250k CSV quotes SMILES with an
    embedded newline, so the line is the row's first physical line). Surrounding whitespace is stripped.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SMILES file not found: {path}")
    out = []
    with _open_text(path) as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise GraphDataError(f"{path}:1", "empty file (no header)") from None
        names = [h.strip() for h in header]
        matches = [i for i, h in enumerate(names) if h.lower() == column.lower()]
        if not matches:
            raise GraphDataError(f"{path}:1", f"no column '{column}' in the header {names}")
        col = matches[0]
        line = reader.line_num + 1
        for row in reader:
            where = f"{path}:{line}"
            line = reader.line_num + 1
            if not row:
                continue
            if col >= len(row):
                raise GraphDataError(where, f"row has {len(row)} fields, no '{column}' value")
            out.append((where, row[col].strip()))
    return out


def mol_from_smiles(smiles: str, where: str = "<smiles>"):
    """Parse and sanitize; an unparsable SMILES or an over-valent atom raises :class:`GraphDataError`."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    if not smiles:
        raise GraphDataError(where, "empty SMILES")
    mol = Chem.MolFromSmiles(smiles, sanitize=False)
    if mol is None:
        raise GraphDataError(where, f"unparsable SMILES '{smiles}'")
    problems = Chem.DetectChemistryProblems(mol)
    if problems:
        p = problems[0]
        kind = "over-valent atom" if p.GetType() == "AtomValenceException" else p.GetType()
        raise GraphDataError(where, f"{kind} in '{smiles}': {p.Message()}")
    try:
        Chem.SanitizeMol(mol)
    except Exception as err:  # RDKit raises several exception types
        raise GraphDataError(where, f"RDKit cannot sanitize '{smiles}': {err}") from None
    return mol


def kekulized_graph(smiles: str, atoms: Sequence[str], where: str = "<smiles>") -> tuple[list[int], list[tuple[int, int, int]]]:
    """(atom type indices, bonds (i, j, order)) of a molecule, GDSS-style: canonical atom order, kekulized,
    hydrogens implicit. Raises for unparsable / over-valent SMILES and for elements outside ``atoms``."""
    from rdkit import Chem

    mol = mol_from_smiles(smiles, where)
    mol = Chem.MolFromSmiles(Chem.MolToSmiles(mol, isomericSmiles=False, canonical=True))
    Chem.Kekulize(mol, clearAromaticFlags=True)
    types = []
    for a in mol.GetAtoms():
        sym = a.GetSymbol()
        if sym not in atoms:
            raise GraphDataError(where, f"element {sym} of '{smiles}' is not in the atom vocabulary {list(atoms)}")
        types.append(atoms.index(sym))
    bonds = []
    for b in mol.GetBonds():
        name = str(b.GetBondType())
        if name not in BOND_ORDERS:
            raise GraphDataError(where, f"bond type {name} in '{smiles}' is not single/double/triple after kekulization")
        bonds.append((b.GetBeginAtomIdx(), b.GetEndAtomIdx(), BOND_ORDERS[name]))
    return types, bonds


def featurize_smiles(
    records: Iterable[tuple[str, str]] | Iterable[str],
    atoms: Sequence[str] = QM9_ATOMS,
    max_nodes: int | None = None,
    skip_invalid: bool = False,
) -> DenseGraphs:
    """Dense padded tensors of molecules.

    Args:
        records: (where, smiles) pairs (see :func:`read_smiles_csv`) or bare SMILES strings.
        atoms: the atom vocabulary (columns of X).
        max_nodes: padded size N; None uses the largest molecule. A larger molecule is an error (or skipped).
        skip_invalid: leave out unusable records instead of raising; they are listed in ``skipped``.

    Returns:
        :class:`DenseGraphs` with x (B, N, len(atoms)), adj (B, N, N) bond orders, mask (B, N), names = SMILES.
    """
    graphs, names, skipped = [], [], []
    for k, rec in enumerate(records):
        where, smi = rec if isinstance(rec, tuple) else (f"<record {k}>", rec)
        try:
            types, bonds = kekulized_graph(smi, atoms, where)
            if max_nodes is not None and len(types) > max_nodes:
                raise GraphDataError(where, f"'{smi}' has {len(types)} heavy atoms, more than max_nodes={max_nodes}")
        except GraphDataError as err:
            if not skip_invalid:
                raise
            skipped.append(str(err))
            continue
        graphs.append((types, bonds))
        names.append(smi)
    if not graphs:
        raise GraphDataError("<input>", f"no usable molecule ({len(skipped)} skipped)")
    n = max_nodes if max_nodes is not None else max(len(t) for t, _ in graphs)
    b = len(graphs)
    x = torch.zeros(b, n, len(atoms))
    adj = torch.zeros(b, n, n)
    mask = torch.zeros(b, n, dtype=torch.bool)
    for i, (types, bonds) in enumerate(graphs):
        m = len(types)
        x[i, torch.arange(m), torch.tensor(types, dtype=torch.long)] = 1.0
        mask[i, :m] = True
        if bonds:
            bi = torch.tensor(bonds, dtype=torch.long)
            adj[i, bi[:, 0], bi[:, 1]] = bi[:, 2].float()
            adj[i, bi[:, 1], bi[:, 0]] = bi[:, 2].float()
    return DenseGraphs(x, adj, mask, names, list(atoms), skipped)
