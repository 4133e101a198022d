"""QM9 sampling speed beside GDSS's public code: molecules per second at one thread, and peak memory.

Ours is what the issue's check runs: ``morphogen graphs sample --checkpoint qm9 --num-samples S --steps NFE --out D``
in a fresh process with ``MORPHOGEN_THREADS=1``, its ``samples_per_second`` read from ``D/sampling.json`` (the
sampling loop: see ``morphogen.graphs.io.samples.TIMED``; no compilation, no warm-up) and its peak resident memory
from the kernel (``wait4``). GDSS's numbers are read from a JSON file of records (default
``benchmarks/results/graphs_speed_gdss.json``) written by a driver that runs GDSS's own code outside this
repository (its S4 solver with its public QM9 checkpoint); the file holds the driver's description.

    python benchmarks/graphs_speed.py --rows 200:2000 --repeats 3 --between "python DRIVER --samples {samples} --steps {nfe} --record benchmarks/results/graphs_speed_gdss.json"
    python benchmarks/graphs_speed.py --rows 50:2000,100:2000,200:2000,1000:500

    python benchmarks/graphs_speed.py --merge benchmarks/results/graphs_speed_a.json benchmarks/results/graphs_speed_b.json

``--between CMD`` runs CMD (``{nfe}`` and ``{samples}`` filled in) before each of our runs, so the two alternate in
one run, and then uses only the GDSS records that CMD added; without it, all recorded GDSS runs of the same NFE and
sample count. Each row reports medians over the repeats. Writes benchmarks/results/graphs_speed{TAG}.{json,md};
``--merge`` writes one table of the rows of earlier result files (each row keeps its command and note).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
GDSS_FILE = ROOT / "results" / "graphs_speed_gdss.json"


def parse_rows(spec: str) -> list[tuple[int, int]]:
    """"200:2000,1000:500" -> [(200, 2000), (1000, 500)] (NFE, samples)."""
    rows = []
    for part in spec.split(","):
        nfe, _, num = part.partition(":")
        rows.append((int(nfe), int(num or 2000)))
    return rows


def vm_hwm_mib(pid: int) -> float:
    """The peak resident set (VmHWM) of a running process, MiB; 0 once it has exited. Not ``ru_maxrss``: on Linux a
    child's ``ru_maxrss`` starts from its parent's resident set at the fork, so a large benchmark process would
    inflate it."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_ours(nfe: int, samples: int, out: str | os.PathLike | None = None, checkpoint: str = "qm9") -> dict:
    """One fresh ``morphogen graphs sample`` process at one thread (the check's command, the model's default seed):
    its sampling.json and peak RSS. ``out``: keep the samples folder there (default: a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="graphs_speed_") as tmp:
        out = str(out or tmp)
        script = Path(sys.executable).parent / "morphogen"  # the console script the check calls
        cmd = ([str(script)] if script.is_file() else [sys.executable, "-m", "morphogen.cli.main"]) + [
            "graphs", "sample", "--checkpoint", checkpoint, "--num-samples", str(samples), "--steps", str(nfe),
            "--out", out]
        env = dict(os.environ, MORPHOGEN_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        t0 = time.time()
        with tempfile.TemporaryFile() as errf:
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=errf)
            peak = 0.0
            while proc.poll() is None:
                peak = max(peak, vm_hwm_mib(proc.pid))
                time.sleep(0.1)
            errf.seek(0)
            err = errf.read().decode()
        if proc.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
        info = json.loads((Path(out) / "sampling.json").read_text())
    return {"samples_per_second": info["samples_per_second"], "seconds": info["seconds"],
            "process_seconds": time.time() - t0, "peak_rss_mib": peak,
            "validity_without_correction": info["validity_without_correction"], "connected": info["connected"],
            "timed": info.get("timed")}


def gdss_records(path: Path) -> list[dict]:
    return json.loads(path.read_text())["records"] if path.is_file() else []


def median(values):
    return statistics.median(values) if values else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", default="200:2000", help="NFE:samples,... (default 200:2000)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--gdss", type=Path, default=GDSS_FILE, help="GDSS's records (JSON)")
    ap.add_argument("--between", default=None, help="command run before each of our runs (GDSS's driver)")
    ap.add_argument("--note", default="", help="a line for the table (e.g. what else ran on the machine)")
    ap.add_argument("--tag", default="", help="suffix of the result files")
    ap.add_argument("--merge", nargs="+", type=Path, default=None, help="result JSON files to merge into one table")
    args = ap.parse_args()
    from _machine import machine_info

    command = shlex.join(["python", "benchmarks/graphs_speed.py", *sys.argv[1:]])
    if args.merge:
        docs = [json.loads(p.read_text()) for p in args.merge]
        rows = sorted((r for d in docs for r in d["rows"]), key=lambda r: (r["nfe"], r["samples"]))
        merged = {k: docs[-1][k] for k in ("machine", "gdss_description", "gdss_source")}
        write_tables({**merged, "note": "", "rows": rows}, command, args.tag)
        return

    rows = []
    for nfe, samples in parse_rows(args.rows):
        before = len(gdss_records(args.gdss))
        ours = []
        for _ in range(args.repeats):
            if args.between:
                subprocess.run(shlex.split(args.between.format(nfe=nfe, samples=samples)), check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            ours.append(run_ours(nfe, samples))
            print(f"NFE {nfe}, {samples} samples: {ours[-1]['samples_per_second']:.1f} mol/s", flush=True)
        recs = gdss_records(args.gdss)
        recs = recs[before:] if args.between else recs
        gdss = [r for r in recs if r["nfe"] == nfe and r["samples"] == samples]
        row = {"nfe": nfe, "samples": samples, "repeats": args.repeats, "interleaved": bool(args.between),
               "note": args.note, "command": command, "ours": ours, "gdss": gdss,
               "ours_samples_per_second": median([o["samples_per_second"] for o in ours]),
               "ours_peak_rss_mib": median([o["peak_rss_mib"] for o in ours]),
               "gdss_samples_per_second": median([g["samples_per_second"] for g in gdss]),
               "gdss_peak_rss_mib": median([g["peak_rss_mib"] for g in gdss])}
        row["ratio"] = (row["ours_samples_per_second"] / row["gdss_samples_per_second"]
                        if row["gdss_samples_per_second"] else None)
        rows.append(row)
    gdss_doc = json.loads(args.gdss.read_text()) if args.gdss.is_file() else {}
    result = {"machine": machine_info(), "note": args.note, "gdss_description": gdss_doc.get("description"),
              "gdss_source": gdss_doc.get("source"), "rows": rows}
    write_tables(result, command, args.tag)


def _fmt(v, spec=".1f"):
    return "-" if v is None else format(v, spec)


def write_tables(result: dict, command: str, tag: str = "") -> None:
    out = ROOT / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"graphs_speed{tag}.json").write_text(json.dumps({"command": command, **result}, indent=2) + "\n")
    m = result["machine"]
    lines = [f"Command: `{command}`", "",
             "QM9 sampling at one thread, shipped `qm9` model (its default S4 sampler) beside GDSS's public code (its "
             "S4 solver, public QM9 checkpoint); each row the median of its runs.",
             "",
             "| NFE | samples | ours mol/s | GDSS mol/s | ours / GDSS | ours peak RSS (MiB) | GDSS peak RSS (MiB) |",
             "|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['nfe']} | {r['samples']} | {_fmt(r['ours_samples_per_second'])} | "
                     f"{_fmt(r['gdss_samples_per_second'])} | {_fmt(r['ratio'], '.2f')} | "
                     f"{_fmt(r['ours_peak_rss_mib'], '.0f')} | {_fmt(r['gdss_peak_rss_mib'], '.0f')} |")
    lines += ["", "Each run, mol/s:"]
    for r in result["rows"]:
        ours = ", ".join(f"{o['samples_per_second']:.1f}" for o in r["ours"])
        gdss = ", ".join(f"{g['samples_per_second']:.1f}" for g in r["gdss"]) or "-"
        how = "alternating in one run" if r["interleaved"] else "GDSS from earlier records"
        lines.append(f"- NFE {r['nfe']}, {r['samples']} samples: ours {ours}; GDSS {gdss} ({how}; "
                     f"`{r['command']}`){'; ' + r['note'] if r['note'] else ''}")
    lines += ["", "Ours: `morphogen graphs sample --checkpoint qm9 --num-samples S --steps NFE --out D` in a fresh "
              "process, MORPHOGEN_THREADS=1; mol/s is `samples_per_second` of D/sampling.json, which times "
              f"{result['rows'][0]['ours'][0]['timed'] if result['rows'] and result['rows'][0]['ours'] else '-'}. "
              "Peak RSS: the whole process (its VmHWM, polled every 0.1 s; not ru_maxrss, which a child inherits "
              "from its parent at the fork).",
              f"GDSS: {' '.join((result['gdss_description'] or '-').split())}",
              f"Source: {result['gdss_source'] or '-'}.",
              "",
              f"Machine: {m['cpu']}, {m['cores']} cores, {m['platform']}, Python {m['python']}, torch {m['torch']}; "
              f"{m['date']}; load average (1 min) at the end {m['load_average_1min']:.2f}."]
    if result["note"]:
        lines.append(result["note"])
    (out / f"graphs_speed{tag}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
