"""Graphs model files written before the bundle format, read as bundles (the domain plugin's ``legacy`` hook), and
the one-off conversion of such a file into a bundle file.

The old format (``{"format": "morphogen", "config": {...}}`` in the safetensors metadata) held ``process``,
``denoiser``, ``dataset`` (the preset's dataset section), ``feature_names``, ``max_nodes``, ``node_count_hist``,
``sampler`` and ``kind`` (``"molecule"`` | ``"graph"``). Old S4 settings may name the Langevin step rule by its
former names: ``"song"`` (now ``"score_norm"``) and ``"gdss"`` (now ``"noise_norm"``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

#: S4 ``step_rule`` values of earlier versions -> today's names
OLD_STEP_RULES = {"song": "score_norm", "gdss": "noise_norm"}
_OLD_KEYS = ("process", "denoiser", "feature_names", "max_nodes", "node_count_hist")


def upgrade_config(config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The bundle configuration of an old graphs model configuration; None if ``config`` is not one (another
    domain's file)."""
    if any(k not in config for k in _OLD_KEYS):
        return None
    if not str((config.get("denoiser") or {}).get("class", "")).startswith("morphogen.graphs."):
        return None
    from morphogen.bundle.model import FORMAT, FORMAT_VERSION

    sampler = dict(config.get("sampler") or {"name": "s4", "args": {}})
    args = dict(sampler.get("args") or {})
    if sampler.get("name") == "s4" and args.get("step_rule") in OLD_STEP_RULES:
        args["step_rule"] = OLD_STEP_RULES[args["step_rule"]]
    dataset = dict(config.get("dataset") or {})
    notes = {"converted_from": "graphs model file of the pre-bundle format", "data": dataset}
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "domain": "graphs",
            "bundle": "morphogen.graphs.model.GraphModel", "process": config["process"],
            "denoiser": config["denoiser"], "sampler": {"name": sampler.get("name", "s4"), "args": args},
            "metadata": {"preset": dataset.get("name"), "notes": notes},
            "domain_config": {"feature_names": list(config["feature_names"]), "max_nodes": int(config["max_nodes"]),
                              "node_count_hist": list(config["node_count_hist"]),
                              "molecules": config.get("kind", "molecule") == "molecule"}}


def convert_file(src: str | os.PathLike, dst: str | os.PathLike, sampler: str | None = None,
                 steps_trained: int | None = None, notes: Mapping[str, Any] | None = None) -> Path:
    """Rewrite an old graphs model file as a bundle file with the same weights (the core's ``save``).

    ``sampler``: a new default sampler (``NAME[:key=value,...]``, combined with the old one by the rule of
    :mod:`morphogen.samplers.spec`; the old setting is kept in the notes); ``steps_trained`` and ``notes``: facts
    the old file did not hold."""
    from dataclasses import replace

    from morphogen.bundle.store import load
    from morphogen.train.checkpoint import load_model

    model = load(src, domain="graphs")
    weights, _ = load_model(model.source)
    meta = model.metadata
    extra = dict(meta.notes)
    if sampler is not None:
        extra["sampler_in_the_old_file"] = model.sampler_spec.to_dict()
        model.sampler = model.sampler_spec.with_options(sampler).build()
    extra.update(notes or {})
    model.metadata = replace(meta, steps_trained=steps_trained if steps_trained is not None else meta.steps_trained,
                             notes=extra)
    return model.save(dst, weights)
