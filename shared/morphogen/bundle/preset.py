"""One preset schema for every domain: a YAML file that names the joint process, the denoiser, the default sampler,
the domain's data section and a typed ``train:`` block.

```yaml
domain: graphs                 # optional; checked against the domain that reads it
data: {...}                    # the domain's own section (its reader validates it)
process: {class: ..., args: ...}       # a JointProcess spec (or per-variant, see below)
denoiser: {class: ..., args: ...}
sampler: {name: s4, args: {steps: 200, snr: 0.2}}
train: {batch_size: 1024, lr: 0.005, epochs: 300}     # TrainConfig
variants:                      # optional named alternatives a domain selects (crystals: bfn | diffusion | flow)
  bfn: {process: ..., sampler: ..., denoiser_args: {...}}
```

An unknown top-level key, an unknown ``train`` key or a mistyped value is an error naming the file and the key.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from morphogen.errors import NotFoundError
from morphogen.samplers.spec import SamplerSpec
from morphogen.train.config import TrainConfig
from morphogen.utils.typed import TypedConfigError

TOP_LEVEL_KEYS = ("name", "domain", "data", "process", "denoiser", "sampler", "train", "variants")
VARIANT_KEYS = ("process", "sampler", "denoiser_args", "train")


class PresetError(TypedConfigError):
    """A preset file that cannot be read or does not follow the schema (names the file and the key)."""


@dataclass
class Preset:
    """A parsed preset.

    Attributes:
        name: the preset's name (the file stem unless ``name:`` says otherwise).
        domain: the domain that reads it.
        source: the YAML file.
        data: the domain's data section, unparsed.
        process: the joint process spec (None when only the variants give it).
        denoiser: the denoiser spec.
        sampler: the default sampler (the measured best setting), or None when the variants give it.
        train: the typed training block.
        variants: name -> {process, sampler, denoiser_args, train} alternatives (see :meth:`variant`).
    """

    name: str
    domain: str
    source: Path | None
    data: dict[str, Any]
    denoiser: dict[str, Any]
    train: TrainConfig
    process: dict[str, Any] | None = None
    sampler: SamplerSpec | None = None
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)

    def variant(self, name: str) -> "Preset":
        """The preset with variant ``name`` applied: its process and sampler replace the top-level ones, its
        ``denoiser_args`` update the denoiser's arguments and its ``train`` keys update the train block."""
        if name not in self.variants:
            raise PresetError(f"{self.source or self.name}: no variant '{name}' (variants: {sorted(self.variants)})")
        v = self.variants[name]
        where = f"{self.source or self.name}: variants.{name}"
        den = {"class": self.denoiser["class"], "args": {**(self.denoiser.get("args") or {}),
                                                         **(v.get("denoiser_args") or {})}}
        train = self.train
        if v.get("train"):
            from dataclasses import asdict

            train = TrainConfig.from_mapping({**asdict(self.train), **v["train"]}, f"{where}.train")
        sampler = SamplerSpec.from_dict(v["sampler"], f"{where}.sampler") if "sampler" in v else self.sampler
        return Preset(f"{self.name}", self.domain, self.source, self.data, den, train,
                      v.get("process", self.process), sampler, {})


def parse_preset(raw: Mapping[str, Any], domain: str, source: Path | None = None, name: str | None = None) -> Preset:
    """Check a preset mapping against the schema and type its blocks."""
    where = str(source) if source is not None else f"{domain} preset '{name}'"
    if not isinstance(raw, Mapping):
        raise PresetError(f"{where}: a preset must be a YAML mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(TOP_LEVEL_KEYS))
    if unknown:
        raise PresetError(f"{where}: unknown top-level key{'s' if len(unknown) > 1 else ''} {unknown}; "
                          f"a preset has {list(TOP_LEVEL_KEYS)}")
    if raw.get("domain", domain) != domain:
        raise PresetError(f"{where}: a preset of domain '{raw['domain']}', read by '{domain}'")
    for key in ("denoiser", "train"):
        if key not in raw:
            raise PresetError(f"{where}: missing '{key}'")
    for key in ("data", "process", "denoiser", "variants"):
        if key in raw and not isinstance(raw[key], Mapping):
            raise PresetError(f"{where}: '{key}' must be a mapping, got {raw[key]!r}")
    if "class" not in raw["denoiser"]:
        raise PresetError(f"{where}: denoiser needs 'class' (and 'args')")
    variants = {}
    for vname, v in (raw.get("variants") or {}).items():
        if not isinstance(v, Mapping):
            raise PresetError(f"{where}: variants.{vname} must be a mapping")
        bad = sorted(set(v) - set(VARIANT_KEYS))
        if bad:
            raise PresetError(f"{where}: variants.{vname}: unknown keys {bad}; a variant has {list(VARIANT_KEYS)}")
        if "sampler" in v:
            SamplerSpec.from_dict(v["sampler"], f"{where}: variants.{vname}.sampler")
        variants[str(vname)] = dict(v)
    if raw.get("process") is None and not variants:
        raise PresetError(f"{where}: missing 'process' (or variants that give it)")
    sampler = SamplerSpec.from_dict(raw["sampler"], f"{where}: sampler") if raw.get("sampler") is not None else None
    train = TrainConfig.from_mapping(raw["train"], f"{where}: train")
    stem = raw.get("name") or name or (source.stem if source is not None else "preset")
    return Preset(str(stem), domain, source, dict(raw.get("data") or {}), dict(raw["denoiser"]), train,
                  dict(raw["process"]) if raw.get("process") is not None else None, sampler, variants)


def load_preset(name_or_path: str | os.PathLike, preset_dir: Path, domain: str) -> Preset:
    """A preset by name (a YAML file of the domain's ``presets/`` folder) or path, parsed and checked."""
    import yaml

    p = Path(name_or_path)
    if not p.is_file():
        p = Path(preset_dir) / f"{name_or_path}.yaml"
    if not p.is_file():
        known = sorted(q.stem for q in Path(preset_dir).glob("*.yaml"))
        raise NotFoundError(f"no {domain} preset '{name_or_path}' (shipped presets: {known}, or give a YAML path)")
    try:
        with open(p, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh)
    except yaml.YAMLError as err:
        raise PresetError(f"{p}: not valid YAML ({err})") from None
    return parse_preset(raw, domain, p)
