"""Samplers; each declares the process capability it needs (``requires``). ``get_sampler(name, **args)``.

Names come from the core, from installed packages (the ``morphogen.samplers`` entry-point group) and from
:func:`register_sampler`; see :mod:`morphogen.samplers.registry`.
"""
from morphogen.samplers.base import IncompatibleSamplerError, SampleResult, Sampler
from morphogen.samplers.registry import (
    SamplerEntry, UnknownSamplerError, compatible_samplers, get_sampler, register_sampler, sampler_class,
    sampler_entries, sampler_names, unregister_sampler,
)

__all__ = ["IncompatibleSamplerError", "SampleResult", "Sampler", "SamplerEntry", "UnknownSamplerError",
           "compatible_samplers", "get_sampler", "register_sampler", "sampler_class", "sampler_entries",
           "sampler_names", "unregister_sampler"]
