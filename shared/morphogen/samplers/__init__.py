"""Samplers; each declares the process capability it needs (``requires``). ``get_sampler(name, **args)``."""
from morphogen.samplers.base import IncompatibleSamplerError, SampleResult, Sampler
from morphogen.samplers.registry import compatible_samplers, get_sampler, register_sampler, sampler_names

__all__ = ["IncompatibleSamplerError", "SampleResult", "Sampler", "compatible_samplers", "get_sampler",
           "register_sampler", "sampler_names"]
