"""Valency rules and GDSS's evaluation protocol, from sampled tensors to molecules.

GDSS (``gen_mol``): quantise X and A (:func:`morphogen.molecules.convert.decode_atoms`, ``quantize_bonds``), build
the molecule bond by bond, giving an N, O or S with exactly one bond too many a +1 formal charge
(:func:`construct_mol`); the sample is *valid without correction* when RDKit then accepts every valence. GDSS's
valency correction (:func:`correct_mol`) lowers the highest-order bond of an over-valent atom until the molecule is
valid, and the largest fragment is kept (:func:`largest_fragment_smiles`). A sample is *connected* when it is valid
without correction and one fragment as generated (no correction, no fragment selection).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from morphogen.molecules.convert import MAX_SMILES_LENGTH, decode_atoms, quantize_bonds, raw_smiles

#: default valence of each element in GDSS's charge rule
ATOM_VALENCY = {"C": 4, "N": 3, "O": 2, "F": 1, "P": 3, "S": 2, "Cl": 1, "Br": 1, "I": 1}


@dataclass
class DecodedMolecule:
    """One sample.

    Attributes:
        raw_smiles: the generated graph before correction (kekulé SMILES written without sanitisation; may be
            disconnected or over-valent; "" for an empty graph).
        valid_without_correction: RDKit accepts the valences as generated.
        smiles: canonical SMILES after correction and largest-fragment selection ("" when that failed).
        connected: valid without correction and a single fragment as generated.
    """

    raw_smiles: str
    valid_without_correction: bool
    smiles: str
    connected: bool


def first_valence_problem(mol) -> tuple[int, int] | None:
    """(atom index, explicit valence) of the first atom RDKit rejects for its valence, or None."""
    from rdkit import Chem

    for p in Chem.DetectChemistryProblems(mol):
        if p.GetType() == "AtomValenceException":
            idx = p.GetAtomIdx()
            val = sum(b.GetBondTypeAsDouble() for b in mol.GetAtomWithIdx(idx).GetBonds())
            return idx, int(round(val))
    return None


def num_fragments(mol) -> int:
    """Number of connected fragments of a (possibly unsanitised) molecule; 0 for no atoms."""
    from rdkit import Chem

    return len(Chem.GetMolFrags(mol)) if mol.GetNumAtoms() else 0


def construct_mol(types: Sequence[int], bonds: Tensor, atoms: Sequence[str]):
    """RWMol from atom type indices (n,) (-1 = no atom) and bond orders (N, N); GDSS adds bonds in row-major order
    of (i > j) and turns an N, O or S with exactly one bond too many into a +1 cation."""
    from rdkit import Chem

    keep = [i for i, t in enumerate(types) if t >= 0]
    mol = Chem.RWMol()
    for i in keep:
        mol.AddAtom(Chem.Atom(atoms[types[i]]))
    order = {1: Chem.BondType.SINGLE, 2: Chem.BondType.DOUBLE, 3: Chem.BondType.TRIPLE}
    sub = bonds[keep][:, keep] if keep else bonds[:0, :0]
    for i, j in zip(*torch.nonzero(sub, as_tuple=True)):
        i, j = int(i), int(j)
        if i <= j:
            continue
        mol.AddBond(i, j, order[int(sub[i, j])])
        prob = first_valence_problem(mol)
        if prob is not None:
            idx, v = prob
            sym = mol.GetAtomWithIdx(idx).GetSymbol()
            if sym in ("N", "O", "S") and v - ATOM_VALENCY[sym] == 1:
                mol.GetAtomWithIdx(idx).SetFormalCharge(1)
    return mol


def correct_mol(mol):
    """GDSS's valency correction on a copy: while an atom is over-valent, lower its highest-order bond by one.
    Returns the corrected RWMol (never None for graphs of single/double/triple bonds)."""
    from rdkit import Chem

    mol = Chem.RWMol(mol)
    order = {1: Chem.BondType.SINGLE, 2: Chem.BondType.DOUBLE, 3: Chem.BondType.TRIPLE}
    while True:
        prob = first_valence_problem(mol)
        if prob is None:
            return mol
        idx = prob[0]
        bonds = sorted(((int(b.GetBondTypeAsDouble()), b.GetBeginAtomIdx(), b.GetEndAtomIdx())
                        for b in mol.GetAtomWithIdx(idx).GetBonds()), key=lambda r: -r[0])
        o, a, b = bonds[0]
        mol.RemoveBond(a, b)
        if o - 1 >= 1:
            mol.AddBond(a, b, order[o - 1])


def largest_fragment_smiles(mol) -> str:
    """Canonical SMILES of the largest fragment (by SMILES length, as GDSS), "" if RDKit cannot sanitise it."""
    from rdkit import Chem

    try:
        smi = Chem.MolToSmiles(mol, isomericSmiles=True)
    except Exception:
        return ""
    if "." in smi:
        smi = max(smi.split("."), key=len)
    m = Chem.MolFromSmiles(smi)
    return Chem.MolToSmiles(m) if m is not None else ""


def decode_molecule_from_smiles(raw: str) -> DecodedMolecule:
    """Evaluate a raw SMILES line (as written by :func:`decode_molecules`): parse without sanitisation, check the
    valences, correct, take the largest fragment."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    raw = raw.strip()
    if not raw:
        return DecodedMolecule("", False, "", False)
    if len(raw) > MAX_SMILES_LENGTH:  # never handed to RDKit (see MAX_SMILES_LENGTH); no sample is that long
        return DecodedMolecule(raw, False, "", False)
    mol = Chem.MolFromSmiles(raw, sanitize=False)
    if mol is None:
        return DecodedMolecule(raw, False, "", False)
    mol = Chem.RWMol(mol)
    ok = first_valence_problem(mol) is None
    return DecodedMolecule(raw, ok, largest_fragment_smiles(correct_mol(mol)), ok and num_fragments(mol) == 1)


def decode_molecules(x: Tensor, adj: Tensor, atoms: Sequence[str], mask: Tensor | None = None) -> list[DecodedMolecule]:
    """Sampled X (B, N, F) and A (B, N, N) -> one :class:`DecodedMolecule` per sample (GDSS's ``gen_mol``);
    ``mask`` (B, N) marks the nodes that exist (None: every node whose X entry says so)."""
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")
    types = decode_atoms(x)
    if mask is not None:
        types = torch.where(mask.bool(), types, torch.full_like(types, -1))
    bonds = quantize_bonds(adj)
    out = []
    for b in range(x.shape[0]):
        mol = construct_mol(types[b].tolist(), bonds[b], atoms)
        ok = mol.GetNumAtoms() > 0 and first_valence_problem(mol) is None
        smi = largest_fragment_smiles(correct_mol(mol)) if mol.GetNumAtoms() else ""
        out.append(DecodedMolecule(raw_smiles(mol), ok, smi, ok and num_fragments(mol) == 1))
    return out
