"""Molecules for every domain that generates them (graphs today, spectra-to-structure next): no commands of its own.

* :mod:`.convert`: SMILES <-> RDKit molecules <-> graphs (atom types, bond orders) and dense padded tensors;
  GDSS's thresholds from sampled tensors back to discrete graphs; labelled networkx graphs;
* :mod:`.valency`: valency rules, building a molecule from a sampled graph (GDSS's charge rule), validity without
  correction, GDSS's valency correction, the ``connected`` flag;
* :mod:`.metrics` (validity, uniqueness, novelty, :class:`MoleculeMetrics`), :mod:`.frechet`, :mod:`.nspdk`;
* :mod:`.io` (SMILES CSVs, ``samples.smi``), :mod:`.draw` (molecule grids);
* :mod:`.datasets` (ZINC250k, MOSES, SMILES CSVs) and :mod:`.qm9` (QM9 with its 3-D geometries).

Importing it imports torch and numpy, never RDKit, networkx or fcd (imported by the functions that use them).
It depends on the core only, never on a domain package.
"""
from morphogen.molecules.convert import (
    BOND_ORDERS, DenseMolecules, MolecularGraph, canonical_smiles, decode_atoms, featurize_smiles, kekulized_graph,
    mol_from_smiles, quantize_bonds, raw_smiles, smiles_to_nx,
)
from morphogen.molecules.datasets import (
    MOSES_MAX_ATOMS, ZINC250K_ATOMS, ZINC250K_MAX_ATOMS, MoleculeSet, load_moses, load_smiles_set, load_zinc250k,
)
from morphogen.molecules.draw import draw_molecules
from morphogen.molecules.errors import MoleculeDataError
from morphogen.molecules.frechet import fcd
from morphogen.molecules.io import read_smiles_csv, read_smiles_lines, write_smiles
from morphogen.molecules.metrics import (
    MoleculeMetrics, MoleculeScores, connected_fraction, novelty, nspdk_mmd_smiles, uniqueness, validity,
    validity_without_correction,
)
from morphogen.molecules.nspdk import NSPDKMMD, nspdk_features, nspdk_kernel, nspdk_mmd
from morphogen.molecules.qm9 import QM9_ATOMS, QM9_MAX_ATOMS, Geometry, QM9Record, load_qm9, qm9pack_files, read_qm9
from morphogen.molecules.valency import (
    ATOM_VALENCY, DecodedMolecule, construct_mol, correct_mol, decode_molecule_from_smiles, decode_molecules,
    first_valence_problem, largest_fragment_smiles, num_fragments,
)

__all__ = [
    "ATOM_VALENCY", "BOND_ORDERS", "DecodedMolecule", "DenseMolecules", "Geometry", "MOSES_MAX_ATOMS",
    "MolecularGraph", "MoleculeDataError", "MoleculeMetrics", "MoleculeScores", "MoleculeSet", "NSPDKMMD",
    "QM9Record", "QM9_ATOMS", "QM9_MAX_ATOMS", "ZINC250K_ATOMS", "ZINC250K_MAX_ATOMS", "canonical_smiles",
    "connected_fraction", "construct_mol", "correct_mol", "decode_atoms", "decode_molecule_from_smiles",
    "decode_molecules", "draw_molecules", "fcd", "featurize_smiles", "first_valence_problem", "kekulized_graph",
    "largest_fragment_smiles", "load_moses", "load_qm9", "load_smiles_set", "load_zinc250k", "mol_from_smiles",
    "novelty", "nspdk_features", "nspdk_kernel", "nspdk_mmd", "nspdk_mmd_smiles", "num_fragments", "qm9pack_files", "quantize_bonds",
    "raw_smiles", "read_qm9", "read_smiles_csv", "read_smiles_lines", "smiles_to_nx", "uniqueness", "validity",
    "validity_without_correction", "write_smiles",
]
