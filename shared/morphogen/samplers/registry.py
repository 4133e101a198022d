"""Sampler names, for presets and the command line: ``get_sampler("dpm_solver", steps=20)``."""
from __future__ import annotations

import importlib

from morphogen.samplers.base import Sampler

# name -> "module:Class"; modules are imported on demand
_REGISTRY: dict[str, str] = {
    "ancestral": "morphogen.samplers.ancestral:Ancestral",
    "euler_maruyama": "morphogen.samplers.euler_maruyama:EulerMaruyama",
    "pc": "morphogen.samplers.predictor_corrector:PredictorCorrector",
    "langevin": "morphogen.samplers.predictor_corrector:AnnealedLangevin",
    "ode_euler": "morphogen.samplers.ode:ODEEuler",
    "heun": "morphogen.samplers.ode:Heun",
    "dpm_solver": "morphogen.samplers.dpm_solver:DPMSolver",
    "bfn": "morphogen.samplers.bfn:BFNReceiver",
    "renoise": "morphogen.samplers.renoise:Renoise",
    "unmask": "morphogen.samplers.unmask:OrderedUnmasking",
}


def register_sampler(name: str, target: str) -> None:
    """Register ``"module:Class"`` under ``name`` (domain packages add their own samplers this way)."""
    _REGISTRY[name] = target


def sampler_class(name: str) -> type[Sampler]:
    if name not in _REGISTRY:
        raise KeyError(f"unknown sampler '{name}'; known samplers: {sorted(_REGISTRY)}")
    mod, cls = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(mod), cls)


def get_sampler(name: str, **kwargs) -> Sampler:
    return sampler_class(name)(**kwargs)


def sampler_names() -> list[str]:
    return sorted(_REGISTRY)


def compatible_samplers(process) -> list[str]:
    """Names of the registered samplers whose requirements the process meets."""
    out = []
    for name in sorted(_REGISTRY):
        try:
            cls = sampler_class(name)
        except (ImportError, AttributeError):
            continue
        if cls.compatible_with(process):
            out.append(name)
    return out
