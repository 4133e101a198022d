"""QM9 beside GDSS's public code at 50 / 100 / 200 / 1000 network evaluations: quality and speed of one run.

For each NFE, in one run on this machine at one thread:
- ours: the issue's check command, ``morphogen graphs sample --checkpoint CKPT --num-samples S --steps NFE --out D``,
  in a fresh process (its ``samples_per_second`` from D/sampling.json, peak RSS from the kernel; see
  benchmarks/graphs_speed.py);
- GDSS: ``--gdss CMD`` runs GDSS's public code through a driver kept outside this repository, which appends a
  timing record to ``--gdss-records`` and writes one SMILES per sample (``{smiles}``, every sample kept, invalid ones
  unsanitised, as ours does).

Both sample files are then scored by one evaluator, the one ``morphogen graphs evaluate`` uses
(:class:`morphogen.molecules.metrics.MoleculeMetrics`): validity without correction (fragments allowed, GDSS's
protocol), connected (valid and one fragment), uniqueness and novelty on the largest fragment, NSPDK MMD and FCD
against the whole QM9 test split (GDSS's test indices).

    python benchmarks/graphs_qm9_gdss.py --nfe 50,100,200,1000 --samples 2000 \\
        --gdss "python DRIVER --samples {samples} --steps {nfe} --record {record} --smiles {smiles}"
    python benchmarks/graphs_qm9_gdss.py --nfe 200 --checkpoint runs/qm9/raw.safetensors --label raw --tag _raw
    python benchmarks/graphs_qm9_gdss.py --gdss-dir DIR   # GDSS's samples drawn earlier by the driver:
                                                          # DIR/s4_{nfe}.smi and DIR/records.json

Writes benchmarks/results/graphs_qm9_gdss{TAG}.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
RECORDS = ROOT / "results" / "graphs_qm9_gdss_records.json"
METRICS = ("validity_without_correction", "connected", "uniqueness", "novelty", "nspdk_mmd", "fcd")


class Scorer:
    """The evaluator of ``morphogen graphs evaluate --reference qm9``, with the reference prepared once."""

    def __init__(self):
        from morphogen.graphs.data.sources import prepare_data
        from morphogen.graphs.evaluation import canonical_set
        from morphogen.graphs.pipeline import load_preset
        from morphogen.molecules.convert import canonical_smiles

        prepared = prepare_data(load_preset("qm9"), None)
        self.train = canonical_set(prepared.train_smiles or [])
        self.ref = [c for c in (canonical_smiles(s) for s in prepared.reference) if c]

    def __call__(self, smi: Path) -> dict:
        from morphogen.molecules.io import read_smiles_lines
        from morphogen.molecules.metrics import MoleculeMetrics
        from morphogen.molecules.valency import decode_molecule_from_smiles

        m = MoleculeMetrics(self.train, self.ref, with_fcd=True, with_nspdk=True)
        m.update(decode_molecule_from_smiles(s) for s in read_smiles_lines(smi))
        return m.compute().as_dict()


def main() -> None:
    warnings.filterwarnings("ignore")
    from _machine import machine_info
    from graphs_speed import gdss_records, run_ours

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nfe", default="50,100,200,1000:500",
                    help="NFE[:samples],... (samples default --samples)")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--checkpoint", default="qm9")
    ap.add_argument("--label", default=None, help="our rows' name (default: the checkpoint)")
    ap.add_argument("--gdss", default=None, help="GDSS driver command ({samples} {nfe} {record} {smiles} filled in)")
    ap.add_argument("--gdss-records", type=Path, default=RECORDS)
    ap.add_argument("--gdss-dir", type=Path, default=None,
                    help="score GDSS samples drawn earlier: DIR/s4_{nfe}.smi with their records in DIR/records.json "
                         "(their timing is then not from this run)")
    ap.add_argument("--note", default="")
    ap.add_argument("--tag", default="")
    a = ap.parse_args()
    command = shlex.join(["python", "benchmarks/graphs_qm9_gdss.py", *sys.argv[1:]])
    scorer = Scorer()
    rows = []
    with tempfile.TemporaryDirectory(prefix="qm9_gdss_") as tmp:
        for part in a.nfe.split(","):
            nfe, _, num = part.partition(":")
            nfe, samples = int(nfe), int(num or a.samples)
            if a.gdss:
                smi = Path(tmp) / f"gdss_{nfe}.smi"
                before = len(gdss_records(a.gdss_records))
                subprocess.run(shlex.split(a.gdss.format(samples=samples, nfe=nfe, record=a.gdss_records,
                                                         smiles=smi)), check=True)
                rec = gdss_records(a.gdss_records)[before:][-1]
                row = {"system": "GDSS public checkpoint", "sampler": rec.get("predictor", "S4"), "nfe": rec["nfe"],
                       "samples": samples, "samples_per_second": rec["samples_per_second"],
                       "peak_rss_mib": rec["peak_rss_mib"], "record": rec, **scorer(smi)}
                rows.append(row)
                print(json.dumps({k: row[k] for k in ("system", "nfe", *METRICS)}), flush=True)
            elif a.gdss_dir:
                recs = [r for r in gdss_records(a.gdss_dir / "records.json")
                        if r["nfe"] == nfe and r["samples"] == samples and r.get("predictor", "S4") == "S4"]
                if not recs:
                    raise SystemExit(f"{a.gdss_dir / 'records.json'}: no S4 record of {samples} samples at NFE {nfe}")
                row = {"system": "GDSS public checkpoint (drawn earlier)", "sampler": "S4", "nfe": nfe,
                       "samples": samples, "samples_per_second": recs[-1]["samples_per_second"],
                       "peak_rss_mib": recs[-1]["peak_rss_mib"], "record": recs[-1],
                       **scorer(a.gdss_dir / f"s4_{nfe}.smi")}
                rows.append(row)
                print(json.dumps({k: row[k] for k in ("system", "nfe", *METRICS)}), flush=True)
            out = Path(tmp) / f"ours_{nfe}"
            t0 = time.time()
            ours = run_ours(nfe, samples, out, a.checkpoint)
            info = json.loads((out / "sampling.json").read_text())
            row = {"system": a.label or f"ours, {a.checkpoint}", "sampler": info["sampler"], "nfe": info["nfe_per_sample"],
                   "samples": samples, "samples_per_second": ours["samples_per_second"],
                   "peak_rss_mib": ours["peak_rss_mib"], "process_seconds": time.time() - t0,
                   **scorer(out / "samples.smi")}
            rows.append(row)
            print(json.dumps({k: row[k] for k in ("system", "nfe", *METRICS)}), flush=True)
    rec_file = a.gdss_dir / "records.json" if a.gdss_dir else a.gdss_records
    doc = {"command": command, "note": a.note, "machine": machine_info(), "n_test": len(scorer.ref),
           "gdss_source": json.loads(rec_file.read_text()).get("source") if rec_file.is_file() else None,
           "rows": rows}
    res = ROOT / "results"
    (res / f"graphs_qm9_gdss{a.tag}.json").write_text(json.dumps(doc, indent=2) + "\n")
    (res / f"graphs_qm9_gdss{a.tag}.md").write_text(table(doc))
    print(table(doc))


def table(doc: dict) -> str:
    m = doc["machine"]
    lines = [f"Command: `{doc['command']}`", "",
             "QM9, one thread; "
             f"metrics by one evaluator (ours, `graphs evaluate`'s) against the {doc['n_test']:,} test molecules.",
             "", "| system | sampler | NFE | samples | mol/s | peak RSS MiB | valid w/o corr. | connected | unique | novel | "
             "NSPDK MMD | FCD |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(doc["rows"], key=lambda r: (r["nfe"], r["system"])):
        lines.append(f"| {r['system']} | {r['sampler'].split(':')[0]} | {r['nfe']} | {r['samples']} | {r['samples_per_second']:.1f} | "
                     f"{r['peak_rss_mib']:.0f} | {r['validity_without_correction']:.3f} | {r['connected']:.3f} | "
                     f"{r['uniqueness']:.3f} | {r['novelty']:.3f} | {r['nspdk_mmd']:.4f} | {r['fcd']:.2f} |")
    lines += ["", "Validity without correction allows fragments (GDSS's protocol); connected = valid without "
              "correction and one fragment; uniqueness, novelty, NSPDK and FCD on the largest fragment of each valid "
              "sample. Ours: mol/s is `samples_per_second` of the check's sampling.json (the sampling loop). GDSS: "
              "the driver times its sampling_fn call.",
              f"GDSS source: {doc['gdss_source'] or '-'}.", "",
              f"Machine: {m['cpu']}, {m['cores']} cores, {m['platform']}, Python {m['python']}, torch {m['torch']}; "
              f"{m['date']}; load average (1 min) at the end {m['load_average_1min']:.2f}."]
    if doc["note"]:
        lines.append(doc["note"])
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
