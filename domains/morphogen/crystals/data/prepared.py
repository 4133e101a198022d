"""Prepared datasets: the canonical records of a dataset's splits as gzipped JSON, readable without pymatgen.

Parsing and Niggli-reducing the CIFs of a CDVAE CSV takes pymatgen and minutes; a prepared file holds the result
(lattice parameters, fractional coordinates, atomic numbers, material id, source row, numeric properties of every
record of each split), so training can run where pymatgen is not installed (a GPU machine, a cluster node).

Format (``morphogen.crystals.prepared/1``)::

    {"format": "morphogen.crystals.prepared/1", "source": "<the CSV or folder read>", "options": {...},
     "splits": {"train": [record, ...], "val": [...], "test": [...]}}

with ``record = {"lattice": [a, b, c, alpha, beta, gamma], "frac_coords": [[x, y, z], ...],
"atomic_numbers": [Z, ...], "material_id": str, "row": int, "properties": {...}}``.
"""
from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np

from morphogen.crystals.data.structures import CrystalRecord
from morphogen.errors import PreparedDataError  # the one error of every domain (messages name file, split, index)

PREPARED_FORMAT = "morphogen.crystals.prepared/1"
SPLITS = ("train", "val", "test")
__all__ = ["PREPARED_FORMAT", "PreparedDataError", "SPLITS", "is_prepared", "read_prepared", "write_prepared"]


def _record_to_json(r: CrystalRecord) -> dict:
    props = {k: v for k, v in r.properties.items() if isinstance(v, (int, float, str)) and v == v}
    return {"lattice": [float(v) for v in r.lattice], "frac_coords": np.asarray(r.frac_coords, float).tolist(),
            "atomic_numbers": [int(z) for z in r.atomic_numbers], "material_id": r.material_id, "row": int(r.row),
            "properties": props}


def _record_from_json(d: dict, where: str) -> CrystalRecord:
    try:
        lattice = np.asarray(d["lattice"], dtype=np.float64)
        coords = np.asarray(d["frac_coords"], dtype=np.float64).reshape(-1, 3)
        z = np.asarray(d["atomic_numbers"], dtype=np.int64)
    except (KeyError, TypeError, ValueError) as err:
        raise PreparedDataError(f"{where}: malformed record ({type(err).__name__}: {err})") from None
    if lattice.shape != (6,) or not np.isfinite(lattice).all():
        raise PreparedDataError(f"{where}: lattice must be 6 finite numbers, got {d.get('lattice')!r}")
    if coords.shape[0] != z.shape[0] or z.shape[0] == 0:
        raise PreparedDataError(f"{where}: {coords.shape[0]} coordinates for {z.shape[0]} atomic numbers")
    if not np.isfinite(coords).all() or (z < 1).any() or (z > 100).any():
        raise PreparedDataError(f"{where}: non-finite coordinates or atomic numbers outside 1..100")
    return CrystalRecord(lattice, np.mod(coords, 1.0), z, str(d.get("material_id", "")), int(d.get("row", -1)),
                         dict(d.get("properties", {})))


def write_prepared(path: str | os.PathLike, splits: dict[str, list[CrystalRecord]], source: str = "",
                   options: dict | None = None) -> Path:
    """Write ``splits`` (split name -> records) to ``path`` (gzipped JSON; written atomically)."""
    from morphogen.train.checkpoint import atomic_write

    doc = {"format": PREPARED_FORMAT, "source": str(source), "options": dict(options or {}),
           "splits": {k: [_record_to_json(r) for r in splits.get(k, [])] for k in SPLITS}}
    data = gzip.compress(json.dumps(doc).encode(), compresslevel=6, mtime=0)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))
    return path


def is_prepared(path: str | os.PathLike) -> bool:
    """True for a file whose name ends in ``.json.gz`` or ``.json`` (the forms :func:`write_prepared` writes)."""
    p = Path(path)
    return p.is_file() and (p.name.endswith(".json.gz") or p.suffix == ".json")


def read_prepared(path: str | os.PathLike) -> tuple[dict[str, list[CrystalRecord]], dict]:
    """(split name -> records, header with ``source`` and ``options``) of a prepared file."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        doc = json.loads(text)
    except (OSError, ValueError) as err:
        raise PreparedDataError(f"{path}: not a prepared crystals file ({err})") from None
    if not isinstance(doc, dict) or doc.get("format") != PREPARED_FORMAT:
        raise PreparedDataError(f"{path}: format is {doc.get('format') if isinstance(doc, dict) else None!r}, "
                                f"expected {PREPARED_FORMAT!r}")
    splits = {}
    for k in SPLITS:
        recs = doc.get("splits", {}).get(k, [])
        splits[k] = [_record_from_json(d, f"{path}: split '{k}', record {i}") for i, d in enumerate(recs)]
    return splits, {"source": doc.get("source", ""), "options": doc.get("options", {})}
