"""Metrics of molecule and graph generation, each a pure function plus an accumulating class."""
from morphogen.graphs.metrics.graph_mmd import (
    GraphMMD, GraphScores, clustering_mmd, degree_mmd, gaussian, gaussian_emd, gaussian_tv, mmd, orbit_mmd,
)
from morphogen.graphs.metrics.molecules import (
    MoleculeMetrics, MoleculeScores, canonical, fcd, novelty, uniqueness, validity, validity_without_correction,
)
from morphogen.graphs.metrics.nspdk import NSPDKMMD, nspdk_features, nspdk_mmd, smiles_to_nx
from morphogen.graphs.metrics.orbits import orbit_counts
from morphogen.graphs.metrics.valency import (
    DecodedMolecule, correct_mol, decode_molecule_from_smiles, decode_molecules,
)

__all__ = [
    "DecodedMolecule", "GraphMMD", "GraphScores", "MoleculeMetrics", "MoleculeScores", "NSPDKMMD", "canonical",
    "clustering_mmd", "correct_mol", "decode_molecule_from_smiles", "decode_molecules", "degree_mmd", "fcd",
    "gaussian", "gaussian_emd", "gaussian_tv", "mmd", "novelty", "nspdk_features", "nspdk_mmd", "orbit_counts",
    "orbit_mmd", "smiles_to_nx", "uniqueness", "validity", "validity_without_correction",
]
