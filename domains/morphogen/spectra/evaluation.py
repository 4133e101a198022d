"""``morphogen spectra evaluate``: score an ``elucidate`` output folder against the true structures.

Truth: a JSON-lines file with ``id`` and ``smiles`` per record (the ``elucidate`` input itself, or ``simulate``'s
output). Every id of the candidates must have a truth (matched by id, never by position); truths without candidates
are counted. Writes top-1/3/10 (ranked, and any of the first k samples), validity and the mean top-1 Tanimoto
(:mod:`morphogen.spectra.metrics`) as JSON.
"""
from __future__ import annotations

import csv
from pathlib import Path

from morphogen.spectra.errors import SpectraDataError


def _read_csv(path: Path, columns: tuple[str, ...]) -> list[dict]:
    if not path.is_file():
        raise SpectraDataError(str(path), "missing (not an elucidate output folder?)")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    if rows and not set(columns) <= set(rows[0]):
        raise SpectraDataError(str(path), f"expected the columns {list(columns)}")
    return rows


def evaluate_folder(candidates: str | Path, truth: str | Path, out: str | Path | None = None, ks=(1, 3, 10)) -> dict:
    from morphogen.spectra.data.molecules import iter_spectra
    from morphogen.spectra.metrics import TopK
    from morphogen.utils.outputs import atomic_json

    d = Path(candidates)
    ranked: dict[str, list[tuple[int, str]]] = {}
    for k, row in enumerate(_read_csv(d / "candidates.csv", ("id", "rank", "smiles")), start=2):
        try:
            ranked.setdefault(row["id"], []).append((int(row["rank"]), row["smiles"]))
        except ValueError:
            raise SpectraDataError(f"{d / 'candidates.csv'}:{k}", f"rank {row['rank']!r} is not a number") from None
    samples: dict[str, list] = {}
    for row in _read_csv(d / "samples.csv", ("id", "sample", "smiles")):
        samples.setdefault(row["id"], []).append(row["smiles"] or None)
    truths = {}
    for where, rec in iter_spectra(truth):
        if "smiles" not in rec:
            raise SpectraDataError(where, "no 'smiles' (the true structure) in this record")
        truths[str(rec.get("id", where))] = rec["smiles"]
    ids = sorted(set(samples) | set(ranked))
    missing = [i for i in ids if i not in truths]
    if missing:
        raise SpectraDataError(str(truth), f"no true structure for {len(missing)} id(s), e.g. {missing[:3]}; "
                                           "candidates and truths are matched by id")
    acc = TopK(tuple(ks))
    for i in ids:
        acc.update([s for _, s in sorted(ranked.get(i, []))], samples.get(i, []), truths[i])
    res = acc.compute().as_dict()
    res["truths_without_candidates"] = len(set(truths) - set(ids))
    res["candidates"], res["truth"] = str(d), str(truth)
    path = Path(out) if out is not None else d / "evaluation.json"
    atomic_json(path, res)
    res["path"] = str(path)
    return res
