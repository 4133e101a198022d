"""Samplers of this domain, registered with the core registry under their names (``s4``)."""
from morphogen.samplers.registry import register_sampler

register_sampler("s4", "morphogen.graphs.samplers.s4:S4Solver")
