"""Samplers of this domain: the S4 solver of GDSS (:mod:`.s4`).

The core finds them by name without importing this package first: each is declared in pyproject.toml's
``morphogen.samplers`` entry-point group (``s4 = "morphogen.graphs.samplers.s4:S4Solver"``), so
``morphogen.samplers.get_sampler("s4")`` works from anywhere.
"""
from morphogen.graphs.samplers.s4 import S4Solver

__all__ = ["S4Solver"]
