"""Graphs model files written before the bundle format, read as bundles (the domain plugin's ``legacy`` hook;
:func:`morphogen.bundle.convert_file` rewrites such a file as a bundle file).

The old format (``{"format": "morphogen", "config": {...}}`` in the safetensors metadata) held ``process``,
``denoiser``, ``dataset`` (the preset's dataset section), ``feature_names``, ``max_nodes``, ``node_count_hist``,
``sampler`` and ``kind`` (``"molecule"`` | ``"graph"``). Old S4 settings may name the Langevin step rule by its
former names: ``"song"`` (now ``"score_norm"``) and ``"gdss"`` (now ``"noise_norm"``).
"""
from __future__ import annotations

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
