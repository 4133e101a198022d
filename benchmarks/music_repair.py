"""Repairing parallel fifths / octaves with the shipped ``chorales`` model (morphogen.music.models.repair).

Harmonise the soprano of the first N held-out corpus chorales (alto, tenor, bass generated; 50 unmasking steps,
seed 0, all pieces in one batch) for each sampling order (confidence with choice noise 4.5, random) and repair
setting (0, 3, 8 rounds of 4 evaluations re-masking each offending note and one note either side; 8 rounds with the
last one constrained). Every row is what

    morphogen music evaluate --checkpoint chorales --split chorales-test --limit 12 --steps 50 \\
        --order ORDER [--choice-noise 4.5] --repair-rounds R [--repair-constrain]

reports under "generated" (the NLL rows of `evaluate` do not depend on sampling and are left out here). Bach's own
pieces are the reference row. NFE: network evaluations of the batch (50 + repair evaluations actually run).

Rows are slow on a CPU (about 1.3 s per network evaluation for 12 pieces on one thread), so the script runs the rows
named on the command line and merges them into benchmarks/results/music_repair.json, then rewrites the .md from
every row stored. Run: python benchmarks/music_repair.py --order confidence --rounds 0 3
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_info  # noqa: E402

RESULTS = Path(__file__).parent / "results"
TARGETS = ["alto", "tenor", "bass"]
KEYS = ("range_share", "parallels_per_100", "parallel_fifths", "parallel_octaves", "voice_transitions",
        "crossing_percent", "chord_share", "pitch_class_overlap", "duration_overlap", "notes")


def row_key(order: str, rounds: int, constrain: bool) -> str:
    return f"{order}/r{rounds}{'c' if constrain else ''}"


def measure(model, scores, order: str, rounds: int, constrain: bool, steps: int, seed: int) -> dict:
    from morphogen.music.evaluation import harmonize
    from morphogen.music.metrics.harmonization import HarmonizationMetrics
    from morphogen.music.models.repair import RepairConfig

    noise = 4.5 if order == "confidence" else 0.0
    repair = {"repair_rounds": rounds, "repair_steps": 4, "repair_context": 1, "repair_constrain": constrain}
    t0 = time.perf_counter()
    gen = harmonize(model, scores, TARGETS, steps, seed, 16, order, 1.0, noise, RepairConfig.from_options(repair))
    seconds = time.perf_counter() - t0
    m = HarmonizationMetrics(model.track_names, TARGETS)
    for s_gen, s_ref in zip(gen.scores, scores):
        m.update(s_gen, reference=s_ref)
    d = m.compute().as_dict()
    return {"order": order, "choice_noise": noise, "steps": steps, "seed": seed, **repair, "nfe": gen.nfe,
            "seconds": round(seconds, 1), "repair": gen.repair, **{k: d[k] for k in KEYS},
            "decoding": {"missing_durations": gen.missing_durations, "orphan_durations": gen.orphan_durations}}


def bach(model, scores) -> dict:
    from morphogen.music.metrics.harmonization import HarmonizationMetrics

    m = HarmonizationMetrics(model.track_names, TARGETS)
    for s in scores:
        m.update(s)
    d = m.compute().as_dict()
    return {k: d[k] for k in KEYS if "overlap" not in k}


def write_md(res: dict) -> str:
    b = res["bach"]
    lines = [
        "# Repairing parallel fifths and octaves (music, shipped `chorales` model)", "",
        f"Harmonising the soprano of the first {res['pieces']} held-out corpus chorales (alto, tenor, bass generated),"
        f" {res['steps']} unmasking steps, seed {res['seed']}, one batch, one CPU thread. Repair: up to R rounds; each"
        " re-masks the pitch and duration cells of the target-voice note sounding at the second sonority of every"
        " parallel fifth / octave and of one note either side of it (`--repair-context 1`), and refills them with"
        " the model in 4 network evaluations (`--repair-steps 4`). `R8 + constraint` makes the 8th round the hard"
        " constraint (`--repair-constrain`: the offending onset pitches redrawn among tokens that make no parallel;"
        " a rule-based filter, not the model alone). Rows without it use the model only. NFE = network evaluations of"
        " the batch, repair included (a round runs only while some piece still has a parallel; the constrained round"
        " costs one evaluation per offending note of the piece that has the most).", "",
        "Quality bar: range >= 95 %, parallels <= 2 x Bach's rate, chord share within 10 points of Bach's.", "",
        "| order | repair | NFE | range | parallels /100 (5ths+8ves / transitions) | chord share | crossing % |"
        " pc overlap | dur overlap | parallels per round | s |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---|---:|",
    ]
    for key in sorted(res["rows"], key=lambda k: (k.split("/")[0] != "confidence", res["rows"][k]["repair_rounds"],
                                                  res["rows"][k]["repair_constrain"])):
        r = res["rows"][key]
        order = "confidence, noise 4.5" if r["order"] == "confidence" else r["order"]
        rep = f"R{r['repair_rounds']}" + (" + constraint" if r["repair_constrain"] else "") if r["repair_rounds"] \
            else "none"
        per_round = " -> ".join(str(p) for p in r["repair"]["parallels"]) if r["repair"] else ""
        lines.append(f"| {order} | {rep} | {r['nfe']} | {r['range_share']:.3f} | {r['parallels_per_100']:.3f} "
                     f"({r['parallel_fifths']}+{r['parallel_octaves']} / {r['voice_transitions']}) | "
                     f"{r['chord_share']:.3f} | {r['crossing_percent']:.2f} | {r['pitch_class_overlap']:.3f} | "
                     f"{r['duration_overlap']:.3f} | {per_round} | {r['seconds']:.0f} |")
    lines.append(f"| Bach (reference) | | | {b['range_share']:.3f} | {b['parallels_per_100']:.3f} "
                 f"({b['parallel_fifths']}+{b['parallel_octaves']} / {b['voice_transitions']}) | "
                 f"{b['chord_share']:.3f} | {b['crossing_percent']:.2f} | | | | |")
    m = res["machine"]
    lines += ["", f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}, {m['torch_threads']} thread(s), "
              f"load {m['load_average_1min']:.2f}, {m['date']} (seconds: wall time of the generation, shared machine)."
              , "", "Run: `python benchmarks/music_repair.py --order confidence --rounds 0 3 8 --constrained 8`"
              " (rows are merged into the JSON)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--order", choices=["confidence", "random"], required=True)
    ap.add_argument("--rounds", type=int, nargs="*", default=[], help="unconstrained rows to run")
    ap.add_argument("--constrained", type=int, nargs="*", default=[], help="rows whose last round is constrained")
    ap.add_argument("--limit", type=int, default=12)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("MORPHOGEN_THREADS", "1")))
    from morphogen.music.evaluation import load_split
    from morphogen.music.models.bundle import MusicModel

    model = MusicModel.load("chorales")
    scores = load_split("chorales-test", None, args.limit)
    path = RESULTS / "music_repair.json"
    res = json.loads(path.read_text()) if path.is_file() else {}
    if res.get("pieces") != len(scores) or res.get("steps") != args.steps or res.get("seed") != args.seed:
        res = {"pieces": len(scores), "steps": args.steps, "seed": args.seed, "rows": {}}
    res["bach"] = bach(model, scores)
    for rounds, constrain in [(r, False) for r in args.rounds] + [(r, True) for r in args.constrained]:
        row = measure(model, scores, args.order, rounds, constrain, args.steps, args.seed)
        res["rows"][row_key(args.order, rounds, constrain)] = row
        print(json.dumps({k: row[k] for k in ("order", "repair_rounds", "repair_constrain", "nfe", "range_share",
                                              "parallels_per_100", "chord_share", "crossing_percent", "seconds")}),
              flush=True)
        res["machine"] = machine_info()
        RESULTS.mkdir(exist_ok=True)
        path.write_text(json.dumps(res, indent=1))
        (RESULTS / "music_repair.md").write_text(write_md(res))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
