"""A sampler named with its arguments: ``NAME[:key=value,...]`` on the command line, ``{name, args}`` in presets and
checkpoints, and the one rule that combines a model's default sampler with what a user asks for.

The rule (every command of every domain follows it):

- nothing asked: the model's default sampler with its arguments (the setting its benchmarks measured best);
- ``--steps S``: the same, with ``steps = S``;
- ``--sampler NAME`` naming the default sampler: its default arguments, updated by the given ``key=value`` pairs;
- ``--sampler NAME`` naming another sampler: only the given pairs, plus the default's number of steps (unless
  ``--steps`` or a ``steps=`` pair says otherwise).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from morphogen.errors import MorphogenError


class SamplerSpecError(MorphogenError, ValueError):
    """A sampler spec that cannot be parsed (names the offending text)."""


def _value(text: str) -> Any:
    """``"10"`` -> 10, ``"0.5"`` -> 0.5, ``"true"`` -> True, anything else stays a string."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


@dataclass(frozen=True)
class SamplerSpec:
    """A registered sampler name and its constructor arguments (``steps`` among them)."""

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> "SamplerSpec":
        """``"s4"``, ``"renoise:start=0.5"``, ``"unmask:order=confidence,choice_noise=4.5"``."""
        if not isinstance(text, str) or not text.strip():
            raise SamplerSpecError(f"empty sampler spec {text!r}; expected NAME or NAME:key=value,...")
        name, _, opts = text.strip().partition(":")
        name = name.strip()
        if not name.isidentifier():
            raise SamplerSpecError(f"sampler spec '{text}': '{name}' is not a sampler name")
        args: dict[str, Any] = {}
        for item in filter(None, (o.strip() for o in opts.split(","))):
            key, eq, val = item.partition("=")
            if not eq or not key.strip().isidentifier():
                raise SamplerSpecError(f"sampler option '{item}' in '{text}' is not key=value")
            args[key.strip()] = _value(val.strip())
        return cls(name, args)

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any], where: str = "sampler") -> "SamplerSpec":
        """``{"name": ..., "args": {...}}`` (presets, checkpoints)."""
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
            raise SamplerSpecError(f"{where}: expected a mapping with 'name' (and optional 'args'), got {spec!r}")
        extra = set(spec) - {"name", "args"}
        if extra:
            raise SamplerSpecError(f"{where}: unknown keys {sorted(extra)} (a sampler spec has 'name' and 'args')")
        args = spec.get("args") or {}
        if not isinstance(args, Mapping):
            raise SamplerSpecError(f"{where}.args: expected a mapping, got {args!r}")
        return cls(spec["name"], dict(args))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "args": dict(self.args)}

    def __str__(self) -> str:
        def show(v):  # a nested object spec (e.g. an unmasking rule) by its class name
            return v["class"].rsplit(".", 1)[-1] if isinstance(v, Mapping) and "class" in v else v

        opts = ",".join(f"{k}={show(v)}" for k, v in self.args.items())
        return f"{self.name}:{opts}" if opts else self.name

    def build(self):
        """The configured :class:`morphogen.samplers.base.Sampler`."""
        from morphogen.samplers.registry import get_sampler
        from morphogen.utils.config import build

        try:  # nested specs (e.g. the rule of an unmasking sampler) are built; only morphogen classes are
            return get_sampler(self.name, **{k: build(v) for k, v in self.args.items()})
        except TypeError as err:
            raise SamplerSpecError(f"sampler '{self}': {err}") from None

    @classmethod
    def of(cls, sampler) -> "SamplerSpec":
        """The spec of a configured sampler instance (its registry name and constructor arguments)."""
        args = getattr(sampler, "_config_args", None)
        if args is None:
            raise SamplerSpecError(f"{type(sampler).__name__} does not record its constructor arguments")
        from morphogen.utils.config import _plain

        return cls(type(sampler).name, {k: _plain(v) for k, v in args.items()})

    def with_options(self, override: "str | SamplerSpec | None" = None, steps: int | None = None) -> "SamplerSpec":
        """This spec as the default, combined with what a user asked for (the rule of the module docstring)."""
        spec = self
        if override is not None:
            asked = SamplerSpec.parse(override) if isinstance(override, str) else override
            if asked.name == self.name:
                spec = SamplerSpec(self.name, {**self.args, **asked.args})
            else:
                base = {"steps": self.args["steps"]} if "steps" in self.args else {}
                spec = SamplerSpec(asked.name, {**base, **asked.args})
        if steps is not None:
            if int(steps) < 1:
                raise SamplerSpecError(f"steps must be >= 1, got {steps}")
            spec = SamplerSpec(spec.name, {**spec.args, "steps": int(steps)})
        return spec
