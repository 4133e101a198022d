"""Sampler names, for presets and the command line: ``get_sampler("dpm_solver", steps=20)``.

Three sources, read lazily (nothing is imported until a sampler is asked for by name):

1. the core's own samplers (the table below);
2. installed packages: an entry point in the group ``morphogen.samplers`` whose value is ``"module:Class"``, e.g.
   ``s4 = "morphogen.graphs.samplers.s4:S4Solver"`` in this project's pyproject.toml. The core never imports a
   domain by name: it reads the installed distributions' metadata, and imports the module only on first use;
3. :func:`register_sampler` at run time, for a user's own sampler in a notebook or script.

A name is unique: an entry point may not take a core name (it is ignored, with a warning), and
:func:`register_sampler` refuses a taken name unless told to replace it.
"""
from __future__ import annotations

import difflib
import importlib
import warnings
from dataclasses import dataclass

from morphogen.samplers.base import Sampler

ENTRY_POINT_GROUP = "morphogen.samplers"

# name -> "module:Class"; modules are imported on demand
_CORE: dict[str, str] = {
    "ancestral": "morphogen.samplers.ancestral:Ancestral",
    "euler_maruyama": "morphogen.samplers.euler_maruyama:EulerMaruyama",
    "pc": "morphogen.samplers.predictor_corrector:PredictorCorrector",
    "langevin": "morphogen.samplers.predictor_corrector:AnnealedLangevin",
    "ode_euler": "morphogen.samplers.ode:ODEEuler",
    "heun": "morphogen.samplers.ode:Heun",
    "dpm_solver": "morphogen.samplers.dpm_solver:DPMSolver",
    "bfn": "morphogen.samplers.bfn:BFNReceiver",
    "bfn_end_back": "morphogen.samplers.bfn_end_back:BFNEndBack",
    "renoise": "morphogen.samplers.renoise:Renoise",
    "unmask": "morphogen.samplers.unmask:OrderedUnmasking",
}
#: samplers registered at run time: name -> "module:Class" or the class itself
_RUNTIME: dict[str, str | type[Sampler]] = {}
#: the entry points read once per process (None until first needed)
_INSTALLED: dict[str, "SamplerEntry"] | None = None


class UnknownSamplerError(KeyError):
    """No sampler of that name is known (a KeyError, with a readable message)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class SamplerEntry:
    """Where a sampler name comes from.

    Attributes:
        name: the name presets and the command line use.
        target: ``"module:Class"`` (or the class, for samplers registered with a class object).
        origin: ``"core"``, ``"entry point of <distribution>"`` or ``"registered at run time"``.
    """

    name: str
    target: str | type[Sampler]
    origin: str

    @property
    def is_core(self) -> bool:
        return self.origin == "core"

    def load(self) -> type[Sampler]:
        """Import and return the sampler class; ImportError / TypeError name the sampler and its origin."""
        if isinstance(self.target, type):
            cls = self.target
        else:
            module, _, attr = self.target.partition(":")
            try:
                cls = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as e:
                raise ImportError(f"sampler '{self.name}' ({self.origin}: {self.target}) cannot be loaded: {e}") from e
        if not (isinstance(cls, type) and issubclass(cls, Sampler)):
            raise TypeError(f"sampler '{self.name}' ({self.origin}: {self.target}) is not a morphogen Sampler class")
        return cls


def _installed() -> dict[str, SamplerEntry]:
    """The ``morphogen.samplers`` entry points of the installed distributions (read once, imports nothing)."""
    global _INSTALLED
    if _INSTALLED is None:
        from importlib.metadata import entry_points

        found: dict[str, SamplerEntry] = {}
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            dist = getattr(getattr(ep, "dist", None), "name", None) or "an installed package"
            origin = f"entry point of {dist}"
            if ep.name in _CORE:
                warnings.warn(f"ignoring the sampler entry point '{ep.name}' = {ep.value} ({origin}): '{ep.name}' is a "
                              "core sampler", stacklevel=3)
                continue
            if ep.name in found and found[ep.name].target != ep.value:
                warnings.warn(f"two packages declare the sampler '{ep.name}': keeping {found[ep.name].target} "
                              f"({found[ep.name].origin}), ignoring {ep.value} ({origin})", stacklevel=3)
                continue
            found[ep.name] = SamplerEntry(ep.name, ep.value, origin)
        _INSTALLED = found
    return _INSTALLED


def sampler_entries() -> list[SamplerEntry]:
    """Every known sampler: the core's in their table order, then installed ones, then run-time ones (sorted)."""
    out = [SamplerEntry(n, t, "core") for n, t in _CORE.items()]
    out += [e for _, e in sorted(_installed().items())]
    out += [SamplerEntry(n, t, "registered at run time") for n, t in sorted(_RUNTIME.items())]
    return out


def _lookup(name: str) -> SamplerEntry:
    for entry in sampler_entries():
        if entry.name == name:
            return entry
    known = sorted(sampler_entries(), key=lambda e: e.name)
    listing = ", ".join(e.name if e.is_core else f"{e.name} ({e.origin})" for e in known)
    close = difflib.get_close_matches(str(name), [e.name for e in known], n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise UnknownSamplerError(f"unknown sampler '{name}'; known samplers: {listing}{hint}")


def register_sampler(name: str, target: str | type[Sampler], replace: bool = False) -> None:
    """Make a sampler of your own available by name for this run: ``target`` is a Sampler subclass or
    ``"module:Class"``. Packages declare theirs as entry points instead (see the module docstring).
    A name already known is refused unless ``replace`` (core names can never be replaced)."""
    if name in _CORE:
        raise ValueError(f"'{name}' is a core sampler; choose another name")
    taken = name in _RUNTIME or name in _installed()
    if taken and not replace:
        raise ValueError(f"a sampler named '{name}' is already known ({_lookup(name).origin}); pass replace=True")
    if isinstance(target, str) and ":" not in target:
        raise ValueError(f"sampler target must be 'module:Class' or a class, got '{target}'")
    _RUNTIME[name] = target


def unregister_sampler(name: str) -> None:
    """Forget a sampler registered at run time (core and installed samplers stay)."""
    if name not in _RUNTIME:
        raise UnknownSamplerError(f"no sampler '{name}' was registered at run time")
    del _RUNTIME[name]


def sampler_class(name: str) -> type[Sampler]:
    """The class of the sampler called ``name`` (importing its module now)."""
    return _lookup(name).load()


def get_sampler(name: str, **kwargs) -> Sampler:
    """A configured sampler: ``get_sampler("heun", steps=50)``. An unknown name lists every known one."""
    return sampler_class(name)(**kwargs)


def sampler_names() -> list[str]:
    """Every known sampler name, sorted (imports no sampler module)."""
    return sorted(e.name for e in sampler_entries())


def compatible_samplers(process) -> list[str]:
    """Names of the known samplers whose requirements the process meets (sorted). A sampler that cannot be loaded
    is left out with a warning (this list is used in error messages, which should not fail themselves)."""
    out = []
    for entry in sorted(sampler_entries(), key=lambda e: e.name):
        try:
            cls = entry.load()
        except (ImportError, TypeError) as e:
            warnings.warn(str(e), stacklevel=2)
            continue
        if cls.compatible_with(process):
            out.append(entry.name)
    return out
