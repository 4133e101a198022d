"""Finding and reading model files of any domain: ``load("qm9")``, ``load("runs/x/model.safetensors")``.

A name is looked up in ``$MORPHOGEN_MODELS/<domain>/<name>.safetensors`` and in the shipped ``checkpoints/`` folder
of every installed domain (each domain declares it in its :class:`morphogen.cli.plugins.DomainPlugin`, found through
entry points: the core never imports a domain by name). Files written before the bundle format are upgraded in
memory by their domain's ``legacy`` hook, so a model trained with an older Morphogen still loads.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from morphogen.bundle.model import FORMAT, ModelBundle
from morphogen.errors import NotFoundError
from morphogen.train.checkpoint import CheckpointError

if TYPE_CHECKING:
    from morphogen.samplers.spec import SamplerSpec


def _plugins() -> dict:
    from morphogen.cli.plugins import discover

    return discover()


def _call(target: str):
    mod, _, attr = target.partition(":")
    return getattr(importlib.import_module(mod), attr)


def shipped_models(domain: str | None = None) -> dict[str, Path]:
    """``"<domain>/<name>"`` -> file of every model found by name (``$MORPHOGEN_MODELS`` first, then shipped)."""
    found: dict[str, Path] = {}
    env = os.environ.get("MORPHOGEN_MODELS")
    for dname, plugin in sorted(_plugins().items()):
        if domain is not None and dname != domain:
            continue
        dirs = ([Path(env) / dname] if env else []) + ([Path(plugin.checkpoint_dir)] if plugin.checkpoint_dir else [])
        for d in dirs:
            for f in sorted(d.glob("*.safetensors")) if d.is_dir() else []:
                found.setdefault(f"{dname}/{f.stem}", f)
    return found


def resolve(name_or_path: str | os.PathLike, domain: str | None = None) -> Path:
    """The model file meant by a path, a run folder (holding ``model.safetensors``) or a name (``qm9`` or
    ``graphs/qm9``); the error lists what exists."""
    p = Path(name_or_path)
    if p.is_dir() and (p / "model.safetensors").is_file():
        return p / "model.safetensors"
    if p.is_file():
        return p
    text = str(name_or_path)
    if "/" in text and domain is None and not p.suffix:
        domain, _, text = text.partition("/")
    models = shipped_models(domain)
    hits = [f for key, f in models.items() if key.split("/", 1)[1] == text]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise NotFoundError(f"model name '{text}' exists in several domains: "
                                f"{[k for k in models if k.endswith('/' + text)]}; name one as DOMAIN/NAME")
    where = f"domain '{domain}'" if domain else "any installed domain"
    raise NotFoundError(f"no model '{name_or_path}': not a file or run folder, and no model of that name in "
                            f"{where} (known: {sorted(models) or 'none'})")


def read_config(path: Path, config: Mapping[str, Any]) -> dict[str, Any]:
    """The bundle configuration of a file: as stored, or upgraded from a pre-bundle format by its domain."""
    if config.get("format") == FORMAT:
        return dict(config)
    for dname, plugin in sorted(_plugins().items()):
        if plugin.legacy:
            upgraded = _call(plugin.legacy)(dict(config))
            if upgraded is not None:
                return upgraded
    raise CheckpointError(f"{path}: not a Morphogen model bundle (format {config.get('format')!r}) and no installed "
                          f"domain recognises it")


def bundle_class(path: Path, config: Mapping[str, Any]) -> type[ModelBundle]:
    from morphogen.utils.config import ConfigError, _resolve

    try:
        cls = _resolve(str(config.get("bundle", "")))
    except ConfigError as err:
        raise CheckpointError(f"{path}: {err}") from None
    if not (isinstance(cls, type) and issubclass(cls, ModelBundle)):
        raise CheckpointError(f"{path}: '{config.get('bundle')}' is not a ModelBundle class")
    return cls


def load(name_or_path: str | os.PathLike, domain: str | None = None, device: str | None = None) -> ModelBundle:
    """The model of any domain, by name or path (see :func:`resolve`), in eval mode, on ``device`` (default CPU).

    Returns the domain's bundle class (e.g. ``GraphModel``); ``.domain``, ``.process``, ``.denoiser``,
    ``.sampler``, ``.metadata``, ``.to(device)``, ``.save(path)`` and ``.sample(...)`` are common to all."""
    from morphogen.train.checkpoint import load_model

    path = resolve(name_or_path, domain)
    weights, raw = load_model(path)
    config = read_config(path, raw)
    cls = bundle_class(path, config)
    if domain is not None and cls.domain != domain:
        raise CheckpointError(f"{path}: a {cls.domain} model, not a {domain} model")
    try:
        bundle = cls.from_config(config, weights)
    except (KeyError, ValueError, TypeError, RuntimeError) as err:
        raise CheckpointError(f"{path}: cannot rebuild the model ({type(err).__name__}: {err})") from None
    bundle.source = path
    return bundle.to(device) if device is not None else bundle


def convert_file(src: str | os.PathLike, dst: str | os.PathLike, *, domain: str | None = None,
                 sampler: "str | SamplerSpec | None" = None, steps_trained: int | None = None,
                 notes: Mapping[str, Any] | None = None, **domain_fields: Any) -> Path:
    """Rewrite a model file (of any domain, in any format :func:`load` reads) as a bundle file with the same
    weights, tensor for tensor (dtypes kept).

    ``sampler``: a new default sampler (``NAME[:key=value,...]``, combined with the old one by the rule of
    :mod:`morphogen.samplers.spec`; the old setting is kept in the notes); ``steps_trained``, ``notes`` and
    ``domain_fields`` (attributes of the domain's bundle class, e.g. music's default ``repair``): facts the old
    file did not hold."""
    from dataclasses import replace

    from morphogen.train.checkpoint import load_model

    model = load(src, domain=domain)
    weights, _ = load_model(model.source)
    meta = model.metadata
    extra = dict(meta.notes)
    if sampler is not None:
        extra["sampler_in_the_old_file"] = model.sampler_spec.to_dict()
        model.sampler = model.sampler_spec.with_options(sampler).build()
        model.sampler.check(model.process)
    for name, value in domain_fields.items():
        if not hasattr(model, name):
            raise AttributeError(f"{type(model).__name__} has no field '{name}'")
        setattr(model, name, value)
    extra.update(notes or {})
    model.metadata = replace(meta, steps_trained=steps_trained if steps_trained is not None else meta.steps_trained,
                             notes=extra)
    return model.save(dst, weights)
