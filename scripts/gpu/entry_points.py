"""Make a checkout usable from PYTHONPATH without installing it: write a minimal ``morphogen`` distribution record
(``OUT/morphogen.dist-info`` with the entry points of pyproject.toml), so that domains, their shipped models and
their samplers (``s4``) are found by name, exactly as in an installed copy. Put OUT on PYTHONPATH:

    python3 scripts/gpu/entry_points.py runs/entry_points
    export PYTHONPATH="$PWD/shared:$PWD/domains:$PWD/runs/entry_points"

(The GPU machine has torch and Lightning but cannot install packages.)
"""
from __future__ import annotations

import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def main(out: str) -> Path:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    info = Path(out) / f"morphogen-{meta['version']}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: morphogen\nVersion: {meta['version']}\n")
    lines = []
    for group, entries in meta.get("entry-points", {}).items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {target}" for name, target in entries.items()]
        lines.append("")
    scripts = meta.get("scripts", {})
    if scripts:
        lines += ["[console_scripts]", *[f"{n} = {t}" for n, t in scripts.items()], ""]
    (info / "entry_points.txt").write_text("\n".join(lines))
    return info


if __name__ == "__main__":
    print("wrote", main(sys.argv[1] if len(sys.argv) > 1 else "runs/entry_points"))
