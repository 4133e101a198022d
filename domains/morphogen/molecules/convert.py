"""Molecules <-> graphs: SMILES to RDKit molecules to (atom types, bonds) and dense padded tensors, and back.

The graph of a molecule is built the way GDSS (after MoFlow) builds it: canonical SMILES, kekulized with RDKit,
hydrogens implicit, an atom's type is its element only (formal charges are no feature; GDSS restores N+/O+/S+ from
the valence when decoding, see :func:`morphogen.molecules.valency.construct_mol`), bonds of order 1/2/3.

The other direction starts from sampled continuous tensors: :func:`decode_atoms` and :func:`quantize_bonds` are
GDSS's thresholds; building the molecule from them is valency business (:mod:`morphogen.molecules.valency`).

Every function that reads a record names it (``where``) in the :class:`MoleculeDataError` it raises.
RDKit is imported inside the functions that need it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import Tensor

from morphogen.molecules.errors import MoleculeDataError
from morphogen.utils.padding import pad_sequences

#: RDKit bond type name -> bond order in the adjacency (kekulized molecules only have these)
BOND_ORDERS = {"SINGLE": 1, "DOUBLE": 2, "TRIPLE": 3}
_KEKULE_ORDERS = {1.0: 1, 2.0: 2, 3.0: 3}  # RDKit's GetBondTypeAsDouble of the kept bond types

#: the longest SMILES handed to RDKit: far beyond any molecule the benchmarks hold (ZINC250k's longest has ~110
#: characters), short enough that RDKit's recursive parser cannot overflow the stack (a 20,000-character chain
#: crashes the process with a segmentation fault, which no ``try`` can catch)
MAX_SMILES_LENGTH = 1000


def check_smiles_length(smiles: str, where: str = "<smiles>") -> None:
    """Raise :class:`MoleculeDataError` for a SMILES longer than :data:`MAX_SMILES_LENGTH` (checked before RDKit
    sees it)."""
    if len(smiles) > MAX_SMILES_LENGTH:
        raise MoleculeDataError(where, f"SMILES of {len(smiles):,} characters ('{smiles[:20]}...'), longer than the "
                                       f"limit of {MAX_SMILES_LENGTH} characters")


@dataclass
class MolecularGraph:
    """One molecule as a graph of its heavy atoms.

    Attributes:
        types: (n,) atom type indices into the vocabulary, in canonical atom order.
        bonds: (i, j, order) per bond, i and j node indices, order 1/2/3.
    """

    types: list[int]
    bonds: list[tuple[int, int, int]]

    @property
    def num_atoms(self) -> int:
        return len(self.types)


@dataclass
class DenseMolecules:
    """Molecules as dense padded tensors (the batch layout of the molecule models).

    Attributes:
        types: (B, N) long atom type indices into ``atoms``; -1 on padding.
        bonds: (B, N, N) uint8 symmetric bond orders 0 (none), 1, 2, 3 (kekulized), zero diagonal and padding.
        mask: (B, N) bool, True for real atoms; real atoms come first in every row.
        smiles: (B,) the source SMILES of every molecule.
        atoms: the atom vocabulary (element symbols).
        index: (B,) long, the position of every molecule in the records given to :func:`featurize_smiles`.
        skipped: records left out on request (``skip_invalid``), each ``"where: reason"``.
    """

    types: Tensor
    bonds: Tensor
    mask: Tensor
    smiles: list[str]
    atoms: tuple[str, ...]
    index: Tensor
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return self.types.shape[0]

    @property
    def max_atoms(self) -> int:
        return self.types.shape[1]

    def one_hot(self, dtype: torch.dtype = torch.float32) -> Tensor:
        """(B, N, len(atoms)) one-hot atom types, zero rows on padding."""
        x = torch.zeros(*self.types.shape, len(self.atoms), dtype=dtype)
        x.scatter_(-1, self.types.clamp(min=0)[..., None], 1.0)
        return x.mul_(self.mask[..., None].to(dtype))

    def subset(self, index) -> "DenseMolecules":
        idx = torch.as_tensor(index, dtype=torch.long)
        pos = idx.tolist()
        return DenseMolecules(self.types[idx], self.bonds[idx], self.mask[idx], [self.smiles[i] for i in pos],
                              self.atoms, self.index[idx], list(self.skipped))


def mol_from_smiles(smiles: str, where: str = "<smiles>"):
    """Parse and sanitize; an empty or unparsable SMILES or an over-valent atom raises :class:`MoleculeDataError`."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    if not smiles:
        raise MoleculeDataError(where, "empty SMILES")
    check_smiles_length(smiles, where)
    mol = Chem.MolFromSmiles(smiles, sanitize=False)
    if mol is None:
        raise MoleculeDataError(where, f"unparsable SMILES '{smiles}'")
    problems = Chem.DetectChemistryProblems(mol)
    if problems:
        p = problems[0]
        kind = "over-valent atom" if p.GetType() == "AtomValenceException" else p.GetType()
        raise MoleculeDataError(where, f"{kind} in '{smiles}': {p.Message()}")
    try:
        Chem.SanitizeMol(mol)
    except Exception as err:  # RDKit raises several exception types
        raise MoleculeDataError(where, f"RDKit cannot sanitize '{smiles}': {err}") from None
    return mol


def kekulized_graph(smiles: str, atoms: Sequence[str], where: str = "<smiles>") -> MolecularGraph:
    """The :class:`MolecularGraph` of a molecule, GDSS-style: canonical atom order, kekulized, hydrogens implicit.
    Raises :class:`MoleculeDataError` for unparsable / over-valent SMILES and for elements outside ``atoms``."""
    from rdkit import Chem

    mol = mol_from_smiles(smiles, where)
    mol = Chem.MolFromSmiles(Chem.MolToSmiles(mol, isomericSmiles=False, canonical=True))
    Chem.Kekulize(mol, clearAromaticFlags=True)
    # atoms and bonds by index: RDKit's Python sequence wrappers (``GetAtoms()``) cost more than the parse itself
    types = []
    for i in range(mol.GetNumAtoms()):
        sym = mol.GetAtomWithIdx(i).GetSymbol()
        if sym not in atoms:
            raise MoleculeDataError(where, f"element {sym} of '{smiles}' is not in the atom vocabulary {list(atoms)}")
        types.append(atoms.index(sym))
    bonds = []
    for k in range(mol.GetNumBonds()):
        b = mol.GetBondWithIdx(k)
        order = _KEKULE_ORDERS.get(b.GetBondTypeAsDouble())
        if order is None:
            raise MoleculeDataError(where, f"bond type {b.GetBondType()} in '{smiles}' is not single/double/triple "
                                           f"after kekulization")
        bonds.append((b.GetBeginAtomIdx(), b.GetEndAtomIdx(), order))
    return MolecularGraph(types, bonds)


def featurize_smiles(
    records: Iterable[tuple[str, str]] | Iterable[str],
    atoms: Sequence[str],
    max_atoms: int | None = None,
    skip_invalid: bool = False,
) -> DenseMolecules:
    """Dense padded tensors of molecules.

    Args:
        records: (where, smiles) pairs (see :func:`morphogen.molecules.io.read_smiles_csv`) or bare SMILES.
        atoms: the atom vocabulary (element symbols; type k is ``atoms[k]``).
        max_atoms: padded size N; None uses the largest molecule. A larger molecule is an error (or skipped).
        skip_invalid: leave out unusable records instead of raising; they are listed in ``skipped``.

    Returns:
        :class:`DenseMolecules` with types (B, N), bonds (B, N, N), mask (B, N), smiles, index.
    """
    graphs: list[MolecularGraph] = []
    names, kept, skipped = [], [], []
    for k, rec in enumerate(records):
        where, smi = rec if isinstance(rec, tuple) else (f"<record {k}>", rec)
        try:
            g = kekulized_graph(smi, atoms, where)
            if max_atoms is not None and g.num_atoms > max_atoms:
                raise MoleculeDataError(where, f"'{smi}' has {g.num_atoms} heavy atoms, more than "
                                               f"max_atoms={max_atoms}")
        except MoleculeDataError as err:
            if not skip_invalid:
                raise
            skipped.append(str(err))
            continue
        graphs.append(g)
        names.append(smi)
        kept.append(k)
    if not graphs:
        first = f"; first: {skipped[0]}" if skipped else ""
        raise MoleculeDataError("<input>", f"no usable molecule ({len(skipped)} skipped{first})")
    padded = pad_sequences([g.types for g in graphs], max_atoms, fill=-1)
    b, n = padded.values.shape
    # every bond of every molecule in one scatter: (molecule, i, j, order) rows
    rows = np.array([(m, i, j, o) for m, g in enumerate(graphs) for i, j, o in g.bonds], dtype=np.int64).reshape(-1, 4)
    bonds = torch.zeros(b, n, n, dtype=torch.uint8)
    if len(rows):
        r = torch.from_numpy(rows)
        bonds[r[:, 0], r[:, 1], r[:, 2]] = r[:, 3].to(torch.uint8)
        bonds[r[:, 0], r[:, 2], r[:, 1]] = r[:, 3].to(torch.uint8)
    return DenseMolecules(padded.values, bonds, padded.mask, names, tuple(atoms), torch.tensor(kept, dtype=torch.long),
                          skipped)


# -- sampled tensors -> discrete graphs (GDSS's thresholds) -----------------------------------------------------------
def quantize_bonds(adj: Tensor) -> Tensor:
    """GDSS's ``quantize_mol``: < 0.5 -> 0, [0.5, 1.5) -> 1, [1.5, 2.5) -> 2, >= 2.5 -> 3. (B, N, N) long."""
    return torch.bucketize(adj.detach().float(), torch.tensor([0.5, 1.5, 2.5]), right=True)


def decode_atoms(x: Tensor) -> Tensor:
    """GDSS: an entry > 0.5 marks a type; no such entry means no atom. (B, N, F) -> (B, N) long, -1 = no atom."""
    ind = (x.detach() > 0.5).float()
    full = torch.cat([ind, (1 - ind.sum(-1, keepdim=True))], -1)
    k = full.argmax(-1)
    return torch.where(k == x.shape[-1], torch.full_like(k, -1), k)


# -- molecules -> SMILES and labelled graphs --------------------------------------------------------------------------
def canonical_smiles(smiles: str) -> str | None:
    """RDKit's canonical SMILES of ``smiles``, None when it cannot be parsed and sanitised or is longer than
    :data:`MAX_SMILES_LENGTH` (not handed to RDKit)."""
    from rdkit import Chem, RDLogger

    if len(smiles) > MAX_SMILES_LENGTH:
        return None
    RDLogger.DisableLog("rdApp.*")
    m = Chem.MolFromSmiles(smiles)
    return Chem.MolToSmiles(m) if m is not None else None


def raw_smiles(mol) -> str:
    """Kekulé SMILES of a possibly invalid molecule, written without sanitisation ("" for no atoms)."""
    from rdkit import Chem

    if mol.GetNumAtoms() == 0:
        return ""
    m = mol.GetMol() if hasattr(mol, "GetMol") else Chem.Mol(mol)
    m.UpdatePropertyCache(strict=False)
    return Chem.MolToSmiles(m, kekuleSmiles=True, canonical=False)


def smiles_to_nx(smiles: Sequence[str]) -> list:
    """Molecules as labelled networkx graphs, GDSS's ``mols_to_nx``: node label = element symbol, edge label =
    int(bond order) (aromatic bonds, order 1.5, become 1). An unparsable SMILES is an error naming its position."""
    import networkx as nx
    from rdkit import Chem

    out = []
    for k, s in enumerate(smiles):
        check_smiles_length(s, f"<SMILES {k}>")
        m = Chem.MolFromSmiles(s)
        if m is None:
            raise MoleculeDataError(f"<SMILES {k}>", f"'{s}' cannot be parsed")
        G = nx.Graph()
        for a in m.GetAtoms():
            G.add_node(a.GetIdx(), label=a.GetSymbol())
        for b in m.GetBonds():
            G.add_edge(b.GetBeginAtomIdx(), b.GetEndAtomIdx(), label=int(b.GetBondTypeAsDouble()))
        out.append(G)
    return out
