"""A trained model as one object: joint process, denoiser, default sampler, domain and metadata.

Every domain's model is a :class:`ModelBundle` (or a thin subclass that adds only the domain's own data: a
vocabulary, a lattice codec, feature names). One file format for all of them: a safetensors file holding the
denoiser's weights, with a JSON configuration in its metadata (:data:`FORMAT`):

```
{"format": "morphogen.bundle", "format_version": 1, "domain": "graphs",
 "bundle": "morphogen.graphs.model.GraphModel",          # the class that rebuilds it (only morphogen.* is built)
 "process": {class, args}, "denoiser": {class, args},    # specs (morphogen.utils.config), nothing is unpickled
 "sampler": {"name": "s4", "args": {"steps": 200, ...}},
 "metadata": {"preset": ..., "data_fingerprint": ..., "steps_trained": ..., ...},
 "domain_config": {...}}                                 # the subclass's own data, plain JSON
```
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping

import torch
from torch import Tensor, nn

from morphogen.processes.joint import JointProcess
from morphogen.samplers.base import SampleResult, Sampler
from morphogen.samplers.spec import SamplerSpec

FORMAT = "morphogen.bundle"
FORMAT_VERSION = 1


@dataclass
class BundleMetadata:
    """Where a model came from.

    Attributes:
        preset: the preset it was trained from (name or path).
        data_fingerprint: a short hash of the training data (files, options) it was trained on.
        steps_trained: optimiser steps of its training.
        format_version: the bundle format version it was written with.
        notes: free-form plain-JSON facts (training hardware, conversion history, ...).
    """

    preset: str | None = None
    data_fingerprint: str | None = None
    steps_trained: int | None = None
    format_version: int = FORMAT_VERSION
    notes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "BundleMetadata":
        d = dict(d or {})
        known = {k: d.pop(k) for k in ("preset", "data_fingerprint", "steps_trained", "format_version") if k in d}
        notes = dict(d.pop("notes", {}) or {})
        notes.update(d)  # keys of a newer writer are kept, not lost
        return cls(**known, notes=notes)


@dataclass(kw_only=True, eq=False)
class ModelBundle:
    """Joint process + denoiser + default sampler + metadata; subclasses add a domain's own data.

    Attributes:
        process: the joint process the denoiser was trained with.
        denoiser: the network (eval mode after loading).
        sampler: the default sampler, a configured core :class:`Sampler` (the setting the benchmarks measured best).
        metadata: :class:`BundleMetadata`.
        source: the file it was loaded from (None for a bundle built in memory; not saved).

    Subclasses set the class attribute ``domain`` and override :meth:`domain_config` / :meth:`parse_domain_config`
    for their own fields (plain JSON in the file).
    """

    domain: ClassVar[str] = "core"

    process: JointProcess
    denoiser: nn.Module
    sampler: Sampler
    metadata: BundleMetadata = field(default_factory=BundleMetadata)
    source: Path | None = field(default=None, repr=False)

    def __post_init__(self):
        if isinstance(self.sampler, (str, SamplerSpec, Mapping)):
            self.sampler = _as_spec(self.sampler).build()
        self.process.check_kinds(self.denoiser.prediction_kinds)

    # -- the domain's own data ------------------------------------------------------------------------------------
    def domain_config(self) -> dict[str, Any]:
        """The subclass's fields as plain JSON (saved in the file)."""
        return {}

    @classmethod
    def parse_domain_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        """Constructor keyword arguments of the subclass's fields from :meth:`domain_config`'s output."""
        return {}

    def objective(self):
        """The training objective of this model (default: the sum of the fields' own losses,
        :class:`morphogen.objectives.weighted.WeightedObjective`); a domain whose denoiser has extra heads
        overrides this to add their losses."""
        from morphogen.objectives.weighted import WeightedObjective

        return WeightedObjective()

    # -- configuration and files ----------------------------------------------------------------------------------
    @property
    def sampler_spec(self) -> SamplerSpec:
        return SamplerSpec.of(self.sampler)

    def config(self) -> dict[str, Any]:
        """The JSON configuration stored beside the weights (see the module docstring)."""
        from morphogen.utils.config import spec_of

        meta = asdict(self.metadata)
        meta["format_version"] = FORMAT_VERSION
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "domain": self.domain,
                "bundle": f"{type(self).__module__}.{type(self).__qualname__}", "process": spec_of(self.process),
                "denoiser": spec_of(self.denoiser), "sampler": self.sampler_spec.to_dict(), "metadata": meta,
                "domain_config": self.domain_config()}

    def save(self, path: str | os.PathLike, state_dict: Mapping[str, Tensor] | None = None) -> Path:
        """Write weights (``state_dict`` or the denoiser's) and configuration to one safetensors file, atomically."""
        from morphogen.train.checkpoint import save_model

        return save_model(path, dict(state_dict if state_dict is not None else self.denoiser.state_dict()),
                          self.config())

    @classmethod
    def from_config(cls, config: Mapping[str, Any], weights: Mapping[str, Tensor] | None = None) -> "ModelBundle":
        """Rebuild from :meth:`config` (and weights); ``cls`` must be the class named in the config or a base."""
        from morphogen.utils.config import build

        den = build(config["denoiser"])
        if weights is not None:
            den.load_state_dict(dict(weights))
        den.eval()
        return cls(process=build(config["process"]), denoiser=den, sampler=_as_spec(config["sampler"]).build(),
                   metadata=BundleMetadata.from_dict(config.get("metadata")),
                   **cls.parse_domain_config(config.get("domain_config") or {}))

    # -- devices ---------------------------------------------------------------------------------------------------
    def to(self, device: str | torch.device) -> "ModelBundle":
        """Move the denoiser (in place) and return the bundle."""
        self.denoiser.to(device)
        return self

    @property
    def device(self) -> torch.device:
        p = next(iter(self.denoiser.parameters()), None)
        return p.device if p is not None else torch.device("cpu")

    # -- sampling --------------------------------------------------------------------------------------------------
    def make_sampler(self, sampler: str | SamplerSpec | None = None, steps: int | None = None) -> Sampler:
        """The default sampler, or the combination of it with ``sampler`` / ``steps`` by the rule of
        :mod:`morphogen.samplers.spec`; checked against the process before any sampling."""
        if sampler is None and steps is None:
            smp = self.sampler
        else:
            smp = self.sampler_spec.with_options(sampler, steps).build()
        smp.check(self.process)
        return smp

    def sample(self, shapes: Mapping[str, tuple[int, ...]], *, sampler: str | SamplerSpec | None = None,
               steps: int | None = None, generator: torch.Generator | None = None, **kwargs: Any) -> SampleResult:
        """Draw samples through the core sampler (``masks``, ``condition``, ``guidance``, ``fixed``, ``progress``
        ... as in :meth:`Sampler.sample`), on the denoiser's device."""
        self.denoiser.eval()
        kwargs.setdefault("device", self.device)
        return self.make_sampler(sampler, steps).sample(self.process, self.denoiser, shapes, generator=generator,
                                                        **kwargs)

    def load_weights_from(self, other: "ModelBundle", source: str = "the starting model") -> None:
        """Copy ``other``'s weights into this bundle's denoiser (fine-tuning, ``--init-from``); the two must have the
        same domain, process and denoiser configuration."""
        mine, theirs = self.config(), other.config()
        for key in ("domain", "process", "denoiser"):
            if mine[key] != theirs[key]:
                raise ValueError(f"{source}: its {key} configuration differs from this model's")
        self.denoiser.load_state_dict(other.denoiser.state_dict())


def _as_spec(spec: Any) -> SamplerSpec:
    if isinstance(spec, SamplerSpec):
        return spec
    if isinstance(spec, str):
        return SamplerSpec.parse(spec)
    return SamplerSpec.from_dict(spec)
