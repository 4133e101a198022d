"""How domain packages plug into the command line and the demo runner, without the core importing them.

A domain declares, in its distribution's metadata, an entry point in the group ``morphogen.domains`` whose target
is a :class:`DomainPlugin` (in a module that imports nothing heavy, so ``morphogen --help`` stays fast).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ENTRY_POINT_GROUP = "morphogen.domains"


@dataclass
class DemoResult:
    """One row of the demo summary: what a domain's demo produced and its key metric."""

    domain: str
    produced: str
    metric: str
    value: float | str
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)


@dataclass
class DomainPlugin:
    """name: the sub-command (``morphogen <name> ...``); app: a ``typer.Typer`` (or a callable returning one, to
    defer its import); demo: ``demo(out_dir: Path) -> DemoResult``; summary: one line for ``--help``;
    checkpoint_dir: the folder of the domain's shipped models (``morphogen.bundle.load(name)`` looks there);
    legacy: ``"module:function"`` turning a model configuration written before the bundle format into a bundle
    configuration (None for files that are not the domain's)."""

    name: str
    app: object
    demo: Callable[[Path], DemoResult] | None = None
    summary: str = ""
    checkpoint_dir: Path | None = None
    legacy: str | None = None

    def typer_app(self):
        return self.app() if callable(self.app) and not hasattr(self.app, "registered_commands") else self.app


def discover() -> dict[str, DomainPlugin]:
    """Installed domain plugins by name (a broken plugin is reported, not hidden)."""
    from importlib.metadata import entry_points

    found: dict[str, DomainPlugin] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        plugin = ep.load()
        if not isinstance(plugin, DomainPlugin):
            raise TypeError(f"entry point {ep.name} = {ep.value} is not a morphogen DomainPlugin")
        found[plugin.name] = plugin
    return found
