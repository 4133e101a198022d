"""Metrics of generic graph generation, each a pure function plus an accumulating class (the molecule metrics:
:mod:`morphogen.molecules.metrics`)."""
from morphogen.graphs.metrics.graph_mmd import (
    GraphMMD, GraphScores, clustering_mmd, degree_mmd, gaussian, gaussian_emd, gaussian_tv, mmd, orbit_mmd,
)
from morphogen.graphs.metrics.orbits import orbit_counts

__all__ = [
    "GraphMMD", "GraphScores", "clustering_mmd", "degree_mmd", "gaussian", "gaussian_emd", "gaussian_tv", "mmd",
    "orbit_counts", "orbit_mmd",
]
