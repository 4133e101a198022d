"""Evaluating a folder of predicted or generated CIFs (index.csv) against a reference CDVAE-format CSV."""
from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

from morphogen.crystals.data import read_cdvae_csv, record_to_structure
from morphogen.crystals.io import read_index
from morphogen.crystals.metrics import CSPMatch, GenerationMetrics


def _load(folder: Path, rel: str):
    from pymatgen.core import Structure

    if not rel:
        return None  # a sample that was no cell: invalid
    return Structure.from_file(str(folder / rel))


def evaluate_folder(predictions: str | os.PathLike, reference: str | os.PathLike) -> dict:
    """CSP folders (index rows with a ``row``): references are matched by ``material_id`` when every predicted row
    has one found in the reference file, else by row number; returns ``{"csp": {"k1": ..., "best_of_k": ...}}``.
    Generation folders (empty ``row``): ``{"generation": ...}`` against all reference structures."""
    folder = Path(predictions)
    rows = read_index(folder / "index.csv")
    refs = read_cdvae_csv(reference)
    if all(r.row is None for r in rows):
        acc = GenerationMetrics([record_to_structure(r) for r in refs])
        acc.update([_load(folder, r.path) for r in rows])
        return {"generation": acc.compute().as_dict(), "reference": str(reference)}
    by_id = {r.material_id: r for r in refs if r.material_id}
    use_id = all(r.material_id and r.material_id in by_id for r in rows)
    groups: dict = defaultdict(list)
    for r in rows:
        if r.row is None:
            raise ValueError(f"{folder / 'index.csv'}: mixes CSP rows and generation rows")
        groups[r.row].append(r)
    k1, best = CSPMatch(), CSPMatch(require_ref_valid=False)
    for row, samples in sorted(groups.items()):
        key = samples[0].material_id if use_id else row
        if use_id:
            ref = by_id[key]
        elif 0 <= row < len(refs):
            ref = refs[row]
        else:
            raise ValueError(f"{folder / 'index.csv'}: row {row} is not a record of {reference} ({len(refs)} records)")
        ref_s = record_to_structure(ref)
        samples.sort(key=lambda r: r.sample)
        structs = [_load(folder, r.path) for r in samples]
        k1.update(structs[:1], ref_s)
        best.update(structs, ref_s)
    out = {"k1": k1.compute().as_dict(), "matched_by": "material_id" if use_id else "row", "reference": str(reference)}
    if best.compute().k > 1:
        out["best_of_k"] = best.compute().as_dict()
    return {"csp": out}
