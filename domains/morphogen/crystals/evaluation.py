"""Evaluating a folder of predicted or generated CIFs (index.csv) against a reference CDVAE-format CSV."""
from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

from morphogen.crystals.data import read_cdvae_csv, record_to_structure
from morphogen.crystals.io import read_index
from morphogen.crystals.metrics import CSPMatch, GenerationMetrics
from morphogen.errors import DataError, NotFoundError


def _load(folder: Path, rel: str):
    """The structure of an index row's CIF (None for a sample that was no cell); errors name the CIF."""
    from morphogen.crystals.data.cdvae import check_text_file, parse_cif

    if not rel:
        return None  # a sample that was no cell: invalid
    path = folder / rel
    if not path.exists():
        raise NotFoundError(f"{path}: listed in {folder / 'index.csv'} but not found")
    check_text_file(path, "CIF file")
    try:
        return parse_cif(path.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: {err}") from None


def _reduced(formula: str):
    from pymatgen.core import Composition

    try:
        return Composition(formula).reduced_composition
    except Exception:
        return None


def _refuse_mismatch(index: Path, reference, what: str) -> DataError:
    return DataError(f"{index} does not match the reference {reference}: {what}; pass the reference file the "
                     "compositions were taken from")


def coverage_cutoffs_for(reference: str | os.PathLike) -> tuple[str, tuple[float, float]] | None:
    """CDVAE's coverage cutoffs (structure, composition) of the benchmark a reference CSV belongs to, read from its
    path (a folder or file named perov_5, carbon_24 or mp_20): ``(name, cutoffs)``, or None."""
    from morphogen.crystals.metrics.coverage import COVERAGE_CUTOFFS

    for part in reversed(Path(reference).resolve().parts):
        stem = part.split(".")[0].replace("-", "_").lower()
        if stem in COVERAGE_CUTOFFS:
            return stem, COVERAGE_CUTOFFS[stem]
    return None


def _coverage(generated: list, reference: list, ref_path, cutoffs: tuple[float, float] | None) -> dict:
    """COV-R / COV-P of a generation folder (see :mod:`morphogen.crystals.metrics.coverage`), with the cutoffs
    given or those of the reference's benchmark; a dict saying why when there are none."""
    from morphogen.crystals.metrics.coverage import coverage

    source = "given"
    if cutoffs is None:
        found = coverage_cutoffs_for(ref_path)
        if found is None:
            return {"skipped": f"{ref_path} is not under a perov_5, carbon_24 or mp_20 folder, so CDVAE's cutoffs "
                               "are unknown: pass --coverage-cutoffs STRUCT,COMP"}
        source, cutoffs = f"CDVAE's for {found[0]}", found[1]
    res = coverage(generated, reference, *cutoffs).as_dict()
    return {**res, "struc_cutoff": cutoffs[0], "comp_cutoff": cutoffs[1], "cutoffs": source}


def evaluate_folder(predictions: str | os.PathLike, reference: str | os.PathLike,
                    coverage_cutoffs: tuple[float, float] | None = None) -> dict:
    """CSP folders (index rows with a ``row``): references are matched by ``material_id`` when every predicted row
    has one, else by row number (every row must then hold the reference record's composition); a folder whose ids
    are not in the reference, or whose compositions are not the reference's, is refused (a DataError naming both
    files), never scored. Returns ``{"csp": {"k1": ..., "best_of_k": ...}}``. Generation folders (empty ``row``):
    ``{"generation": ..., "coverage": ...}`` against all reference structures: validity and Wasserstein distances,
    and COV-R / COV-P with ``coverage_cutoffs`` (structure, composition), by default CDVAE's cutoffs of the
    benchmark named in the reference's path."""
    folder = Path(predictions)
    if not folder.is_dir():
        if folder.exists():
            raise DataError(f"{folder}: not a folder (give the folder written by 'crystals predict' or 'generate')")
        raise NotFoundError(f"predictions folder not found: {folder}")
    index = folder / "index.csv"
    rows = read_index(index)
    refs = read_cdvae_csv(reference)
    if all(r.row is None for r in rows):
        ref_structs = [record_to_structure(r) for r in refs]
        generated = [_load(folder, r.path) for r in rows]
        acc = GenerationMetrics(ref_structs)
        acc.update(generated)
        return {"generation": acc.compute().as_dict(),
                "coverage": _coverage(generated, ref_structs, reference, coverage_cutoffs), "reference": str(reference)}
    by_id = {r.material_id: r for r in refs if r.material_id}
    use_id = all(r.material_id for r in rows)
    if use_id:
        unknown = sorted({r.material_id for r in rows if r.material_id not in by_id})
        if unknown:
            raise _refuse_mismatch(index, reference, f"{len(unknown)} of its material_ids are not in the reference "
                                   f"(e.g. {unknown[0]!r})")
    groups: dict = defaultdict(list)
    for r in rows:
        if r.row is None:
            raise DataError(f"{index}: mixes CSP rows and generation rows")
        groups[r.row].append(r)
    k1, best = CSPMatch(), CSPMatch(require_ref_valid=False)
    for row, samples in sorted(groups.items()):
        key = samples[0].material_id if use_id else row
        if use_id:
            ref = by_id[key]
        elif 0 <= row < len(refs):
            ref = refs[row]
        else:
            raise _refuse_mismatch(index, reference, f"row {row} is not one of its {len(refs)} records")
        ref_s = record_to_structure(ref)
        want, got = ref_s.composition.reduced_composition, _reduced(samples[0].formula)
        if got is not None and got != want:
            raise _refuse_mismatch(index, reference, f"row {row} ({samples[0].material_id or 'no material_id'}) "
                                   f"is {samples[0].formula}, the reference record is {want.formula.replace(' ', '')}")
        samples.sort(key=lambda r: r.sample)
        structs = [_load(folder, r.path) for r in samples]
        k1.update(structs[:1], ref_s)
        best.update(structs, ref_s)
    out = {"k1": k1.compute().as_dict(), "matched_by": "material_id" if use_id else "row", "reference": str(reference)}
    if best.compute().k > 1:
        out["best_of_k"] = best.compute().as_dict()
    return {"csp": out}
