"""Where a domain finds its presets, its models and its data: one rule for every domain.

- presets: a YAML path, or a name looked up in the domain's ``presets/`` folder;
- models: a file, a run folder holding ``model.safetensors``, or a name looked up in ``$MORPHOGEN_MODELS/<domain>/``
  and then in the domain's shipped ``checkpoints/`` folder;
- data: ``$MORPHOGEN_DATA``, else ``$MORPHOGEN_TEST_DATA``, else ``../shared/data`` beside the checkout.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: the repository root when running from a checkout (shared/morphogen/utils/resources.py -> root)
_CHECKOUT_ROOT = Path(__file__).resolve().parents[3]


def load_preset(name_or_path: str | os.PathLike, preset_dir: Path, domain: str) -> dict[str, Any]:
    """The YAML preset ``name_or_path`` (a file, or a name in ``preset_dir``) as a dict."""
    import yaml

    p = Path(name_or_path)
    if not p.is_file():
        p = Path(preset_dir) / f"{name_or_path}.yaml"
    if not p.is_file():
        known = sorted(q.stem for q in Path(preset_dir).glob("*.yaml"))
        raise FileNotFoundError(f"no {domain} preset '{name_or_path}' (shipped presets: {known}, or give a YAML path)")
    with open(p, encoding="utf-8") as fh:
        preset = yaml.safe_load(fh)
    if not isinstance(preset, dict):
        raise ValueError(f"{p}: a preset must be a YAML mapping, got {type(preset).__name__}")
    return preset


def resolve_checkpoint(name_or_path: str | os.PathLike, shipped_dir: Path, domain: str) -> Path:
    """The model file meant by ``name_or_path``; the error lists every place that was looked at."""
    p = Path(name_or_path)
    looked = [p]
    if p.is_dir():
        p = p / "model.safetensors"
        looked.append(p)
    if p.is_file():
        return p
    dirs = [Path(os.environ["MORPHOGEN_MODELS"]) / domain] if os.environ.get("MORPHOGEN_MODELS") else []
    for d in dirs + [Path(shipped_dir)]:
        cand = d / f"{Path(name_or_path).name}.safetensors"
        looked.append(cand)
        if cand.is_file():
            return cand
    shipped = sorted(q.stem for q in Path(shipped_dir).glob("*.safetensors")) if Path(shipped_dir).is_dir() else []
    raise FileNotFoundError(f"no {domain} model '{name_or_path}' (shipped: {shipped or 'none yet'}); "
                            f"looked at {[str(x) for x in looked]}")


def data_root() -> Path:
    """The folder of real datasets: $MORPHOGEN_DATA, else $MORPHOGEN_TEST_DATA, else ../shared/data of the checkout."""
    env = os.environ.get("MORPHOGEN_DATA") or os.environ.get("MORPHOGEN_TEST_DATA")
    return Path(env) if env else _CHECKOUT_ROOT.parent / "shared" / "data"
