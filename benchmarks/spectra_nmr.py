"""Structure elucidation from measured 13C + 1H shift lists on held-out NMRShiftDB2 molecules (spectra, issue 13).

The held-out molecules are the test split of the `nmrshiftdb2` preset (split by InChIKey connectivity layer, seed 0;
molecules of at most 9 heavy atoms, all C, N, O or F). Scored as `morphogen spectra evaluate` scores: top-k by the
connectivity layer, ranked (plausible candidates first, then by the shift predictor's error, `elucidate`'s default,
or by agreement of the samples: both rankings of the same samples are rows) and any-of-k-samples (DiffSpectra's
protocol), validity, mean top-1 Tanimoto. One sampling run of K candidates gives the rows of every k <= K (its
first k samples).

Rows (run separately, merged into benchmarks/results/spectra_nmr.json; the .md is rewritten from all rows):

    --row retrieval                     nearest training spectra (morphogen.spectra.retrieval), k = 10
    --row model --checkpoint nmr --num-samples 10 50 --steps 100 [--formula both|known|unknown]

    python benchmarks/spectra_nmr.py --row retrieval
    python benchmarks/spectra_nmr.py --row model --checkpoint nmr --num-samples 10 50 --steps 100

or score a run of the CLI (the row's command names all three steps):

    python benchmarks/spectra_nmr.py --write-inputs test.jsonl
    morphogen spectra elucidate --checkpoint nmr --spectra test.jsonl --num-samples 50 --steps 50 --formula-known --out D
    python benchmarks/spectra_nmr.py --row model --from D --num-samples 1 10 50
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_info, merge_rows  # noqa: E402

RESULTS = Path(__file__).parent / "results"
NAME = "spectra_nmr"


def split(limit: int | None = None, name: str = "test"):
    """(training molecules, the held-out molecules of split ``name``: "test" for results, "val" for choices)."""
    from morphogen.spectra.training import load_preset, nmr_split

    parts = nmr_split(load_preset("nmrshiftdb2"))
    return parts["train"], (parts[name][:limit] if limit else parts[name])


def write_records(test, path: Path) -> Path:
    """The test molecules as an `elucidate` input file (shifts, formula, truth)."""
    from morphogen.spectra.inputs import formula_of_smiles

    with open(path, "w", encoding="utf-8") as fh:
        for m in test:
            fh.write(json.dumps({"id": str(m.id), "nmr_13c": m.c13, "nmr_1h": m.h1, "smiles": m.smiles,
                                 "formula": formula_of_smiles(m.smiles, m.where)}) + "\n")
    return path


def row_retrieval(train, test, k: int = 10) -> list[dict]:
    from morphogen.spectra.evaluation import evaluate_folder
    from morphogen.spectra.inputs import formula_of_smiles
    from morphogen.spectra.retrieval import SpectralLibrary

    lib = SpectralLibrary.from_molecules(train)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        truth = write_records(test, Path(tmp) / "test.jsonl")
        for known in (False, True):
            out = Path(tmp) / f"retrieval-{known}"
            out.mkdir()
            t0 = time.perf_counter()
            hits = {str(m.id): lib.query(m.c13, m.h1, formula_of_smiles(m.smiles, m.where) if known else None, k)
                    for m in test}
            seconds = time.perf_counter() - t0
            with open(out / "candidates.csv", "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(("id", "rank", "smiles", "score", "count"))
                for i, hs in hits.items():
                    for r, h in enumerate(hs, 1):
                        w.writerow((i, r, h.smiles, f"{h.score:.4f}", 1))
            with open(out / "samples.csv", "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(("id", "sample", "smiles"))
                for i, hs in hits.items():
                    for r, h in enumerate(hs):
                        w.writerow((i, r, h.smiles))
                    if not hs:  # no library molecule of that formula: a miss, counted (empty sample)
                        w.writerow((i, 0, ""))
            ev = evaluate_folder(out, truth)
            rows.append({"row": "retrieval", "label": "retrieval (nearest training spectra)", "formula_known": known,
                         "candidates": k, "steps": None, "nfe": 0, "n": len(test), "library": len(lib),
                         "molecules_per_second": round(len(test) / seconds, 1), **_metrics(ev)})
    return rows


def _metrics(ev: dict) -> dict:
    keep = {k: v for k, v in ev.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return keep


def _rerank_rows(folder: Path, truth: Path, samples_list, label: str, command: str) -> list[dict]:
    """Rows for the first k samples of an `elucidate` output (k in ``samples_list``, at most its K), ranked two
    ways: by the shift predictor (the default of `elucidate`) and by agreement of the samples."""
    from rdkit import Chem, RDLogger

    from morphogen.spectra.elucidation import CANDIDATE_COLUMNS, rank, shift_error
    from morphogen.spectra.evaluation import evaluate_folder
    from morphogen.spectra.shifts import load_shift_predictor

    RDLogger.DisableLog("rdApp.*")
    info = json.loads((folder / "elucidation.json").read_text())
    K = int(info["num_samples"])
    samples: dict[str, list[str]] = {}
    with open(folder / "samples.csv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            samples.setdefault(r["id"], []).append(r["smiles"])
    measured = {}
    for line in truth.read_text().splitlines():
        rec = json.loads(line)
        measured[str(rec["id"])] = (rec.get("nmr_13c"), rec.get("nmr_1h"))
    predictor = load_shift_predictor()
    rows = []
    for k in sorted({min(int(k), K) for k in samples_list}):
        for ranking in ("shifts", "count"):
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp)
                cand = [CANDIDATE_COLUMNS]
                samp = [("id", "sample", "smiles")]
                for i, smis in samples.items():
                    first = smis[:k]
                    parsed = [Chem.MolFromSmiles(x) if x else None for x in first]
                    mols = [Chem.AddHs(m) if m is not None else None for m in parsed]
                    c13, h1 = measured[i]
                    errors = None
                    if ranking == "shifts":
                        def errors(smi, c13=c13, h1=h1):
                            return [shift_error(p, c13, h1) for p in predictor.predict(smi)]
                    for c in rank(mols, k, errors):
                        cand.append((i, c.rank, c.smiles, f"{c.score:.4f}", c.count, int(c.plausible),
                                     "" if c.shift_error is None else f"{c.shift_error:.3f}"))
                    samp += [(i, n, x) for n, x in enumerate(first)]
                for name, table in (("candidates.csv", cand), ("samples.csv", samp)):
                    with open(out / name, "w", newline="", encoding="utf-8") as fh:
                        csv.writer(fh, lineterminator="\n").writerows(table)
                ev = evaluate_folder(out, truth)
            rows.append({"row": "model", "label": label, "formula_known": bool(info["formula_known"]),
                         "candidates": k, "steps": int(info["nfe_per_sample"]), "ranking": ranking,
                         "valence": info.get("valence", "none"),
                         "nfe": int(info["nfe_per_sample"]) * k, "n": len(samples),
                         "molecules_per_second": info["molecules_per_second"] if k == K else None,
                         "command": command, **_metrics(ev)})
    return rows


def row_model(checkpoint: str, test, samples_list, steps_list, formulas, valence: str = "complete") -> list[dict]:
    """Sample max(samples_list) candidates per molecule once per (formula, steps); smaller k are the first k."""
    from morphogen.bundle.store import load
    from morphogen.spectra.elucidation import run_elucidation

    model = load(checkpoint, domain="spectra")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        truth = write_records(test, Path(tmp) / "test.jsonl")
        for known in formulas:
            for steps in steps_list:
                out = Path(tmp) / f"m-{known}-{steps}"
                run_elucidation(model, truth, out, max(samples_list), known, steps, valence=valence)
                rows += _rerank_rows(out, truth, samples_list, checkpoint, _command())
    return rows


def _command() -> str:
    return "python benchmarks/spectra_nmr.py " + " ".join(sys.argv[1:])


def _fmt(v, nd=3):
    return "" if v is None else f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def write_table(rows: list[dict]) -> str:
    lines = ["# NMRShiftDB2 held-out molecules from measured 13C + 1H shifts", "",
             "Held-out molecules of the `nmrshiftdb2` preset (split by connectivity layer, seed 0; <= 9 heavy atoms of "
             "C, N, O, F): `test` (94) for results, `val` (46) for the rows that made a choice (the valence mode). "
             "Top-k: the connectivity layer of the InChIKey. Ranking: plausible candidates (connected, closed-shell, "
             "neutral) first, then `shifts` = by the error of their predicted 13C / 1H lists (the shift predictor, "
             "benchmarks/results/spectra_shifts.md; `elucidate`'s default) or `count` = by how many samples agree. "
             "any-of-k = one of the first k samples (DiffSpectra's protocol). NFE = network evaluations per molecule "
             "(steps x candidates). Rows of k below the sampled K rank the first k samples of that run; mol/s is "
             "given where k = K. Valence: how sampled bonds are held to valences (`elucidate --valence`: `complete` "
             "= bonds drawn under the valence mask, then each sample's unfilled valences closed nearest atoms first; "
             "`mask` = the mask only; `none` = samples as drawn).", "",
             "| split | model | formula | valence | steps | candidates | ranking | NFE | top-1 | top-3 | top-10 | any-of-k top-1 | "
             "any-of-k top-10 | validity | Tanimoto top-1 | mol/s | n | command |", "|" + "---|" * 18]
    for r in rows:
        lines.append(f"| {r.get('split', 'test')} | {r['label']} | {'known' if r['formula_known'] else 'unknown'} | "
                     f"{r.get('valence', '') if r['row'] == 'model' else ''} | {_fmt(r.get('steps'))} | "
                     f"{r['candidates']} | {r.get('ranking') or ('spectral cosine' if r['row'] == 'retrieval' else 'count (before plausible-first)')} | {r['nfe']} | {_fmt(r.get('top1'))} | "
                     f"{_fmt(r.get('top3'))} | "
                     f"{_fmt(r.get('top10'))} | {_fmt(r.get('top1_any_of_samples'))} | "
                     f"{_fmt(r.get('top10_any_of_samples'))} | "
                     f"{_fmt(r.get('validity'))} | {_fmt(r.get('top1_tanimoto'))} | "
                     f"{_fmt(r.get('molecules_per_second'), 2)} | {r['n']} | `{r.get('command') or r['machine']['command']}` |")
    lines += ["", "Retrieval answers only with training molecules: against a split by structure its exact top-k is 0 "
                  "by construction; its Tanimoto says how close the nearest known molecules are.",
              "", "Machines: benchmarks/results/spectra_nmr.json (each row's `machine`)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--row", required=True, choices=["retrieval", "model"])
    ap.add_argument("--checkpoint", default="nmr")
    ap.add_argument("--num-samples", type=int, nargs="+", default=[10])
    ap.add_argument("--steps", type=int, nargs="+", default=[100])
    ap.add_argument("--formula", choices=["both", "known", "unknown"], default="both")
    ap.add_argument("--limit", type=int, default=None, help="first N test molecules (quick checks; not for results)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--split", choices=["test", "val"], default="test",
                    help="held-out molecules: test (the results), val (the choices: valence modes)")
    ap.add_argument("--valence", choices=["complete", "mask", "none"], default="complete",
                    help="elucidate's --valence (how sampled bonds are held to valences)")
    ap.add_argument("--write-inputs", type=Path, default=None, help="write the test molecules as an `elucidate` "
                    "input file and stop")
    ap.add_argument("--from", dest="source", type=Path, nargs="+", default=None,
                    help="score these `elucidate` outputs of the --write-inputs file instead of sampling (the row's "
                         "command names both steps)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    train, test = split(a.limit, a.split)
    if a.write_inputs is not None:
        write_records(test, a.write_inputs)
        print(f"{len(test)} test molecules: {a.write_inputs}")
        return
    formulas = {"both": (False, True), "known": (True,), "unknown": (False,)}[a.formula]
    if a.source:
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            truth = write_records(test, Path(tmp) / "test.jsonl")
            for src in a.source:
                info = json.loads((src / "elucidation.json").read_text())
                sp = "" if a.split == "test" else f" --split {a.split}"
                cmd = (f"python benchmarks/spectra_nmr.py{sp} --write-inputs T; morphogen spectra elucidate --checkpoint "
                       f"{a.checkpoint} --spectra T --num-samples {info['num_samples']} --steps "
                       f"{info['nfe_per_sample']}{' --formula-known' if info['formula_known'] else ''} "
                       f"--valence {info.get('valence', 'none')} --out D; "
                       f"python benchmarks/spectra_nmr.py{sp} --row model --from D --num-samples "
                       + " ".join(map(str, a.num_samples)))
                rows += _rerank_rows(src, truth, a.num_samples, a.checkpoint, cmd)
    else:
        rows = row_retrieval(train, test) if a.row == "retrieval" else \
            row_model(a.checkpoint, test, a.num_samples, a.steps, formulas, a.valence)
    info = machine_info()
    for r in rows:
        r["machine"] = info
        r["split"] = a.split
    print(json.dumps(rows, indent=1, default=str))
    if a.limit:
        return
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{NAME}.json"
    key = lambda r: (r["row"], r["label"], r["formula_known"], r.get("steps"), r["candidates"],  # noqa: E731
                     r.get("ranking", "count"), r.get("valence", "none"), r.get("split", "test"))
    allrows = merge_rows(path, rows, key, lambda r: (r.get("split", "test") != "test", r["row"] != "retrieval",
                                                      r["label"], r["formula_known"],
                                                      r.get("valence", ""), r.get("steps") or 0, r["candidates"],
                                                      r.get("ranking", "count")))
    from morphogen.utils.outputs import atomic_text

    atomic_text(RESULTS / f"{NAME}.md", write_table(allrows))


if __name__ == "__main__":
    main()
