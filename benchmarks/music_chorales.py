"""The shipped ``chorales`` model on this CPU: generation time, harmonisation quality per step count, JSB NLL bound.

Three parts, each run on its own (one CPU thread, ``MORPHOGEN_THREADS``, default 1) and merged into
benchmarks/results/music_chorales.json, from which music_chorales.md is rewritten:

speed       time to generate one 16-bar (256 sixteenth columns) four-track chorale from scratch (every track a target,
            an all-``<pad>`` grid), at 10, 25, 50, 100 steps, for the default ancestral sampler and for the confidence
            order with choice noise 4.5: median (and min / max) wall time of ``--repeats`` runs after one warm-up run,
            seed = run index.
harmonize   harmonising the soprano of the first ``--limit`` held-out corpus chorales (alto, tenor, bass generated;
            order confidence, choice noise 4.5, seed 0, one batch) at each step count: the metrics of
            ``morphogen music evaluate --split chorales-test`` ("generated"), Bach's own pieces as reference.
nll         the NELBO bound on JSB test (``../shared/data/music/jsb``, or $MORPHOGEN_TEST_DATA/music/jsb), exactly as
            ``morphogen music evaluate --split jsb-test`` computes it: each piece encoded whole (pitch sets the
            vocabulary lacks reduced to known subsets, counted), the continuous-time masked-diffusion NELBO estimated
            with 8 stratified t per piece (seed 0 + batch start, batches of 16), in nats and bits per 16th-note frame
            (summed nats / summed frames), for every track generated and for alto, tenor, bass given the soprano.

Run: python benchmarks/music_chorales.py --part speed | --part harmonize [--steps 10 25 50] | --part nll
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _machine import command_line, machine_info  # noqa: E402

RESULTS = Path(__file__).parent / "results"
STEPS = (10, 25, 50, 100)
TARGETS = ["alto", "tenor", "bass"]
KEYS = ("range_share", "parallels_per_100", "parallel_fifths", "parallel_octaves", "voice_transitions",
        "crossing_percent", "chord_share", "pitch_class_overlap", "duration_overlap", "notes")


def part_speed(model, steps_list, repeats: int) -> dict:
    from morphogen.music.models.repair import RepairConfig

    grid = model.empty_grid(16 * model.steps_per_bar)[None]
    out = {}
    off = RepairConfig()  # sampling only: no repair rounds
    for order, noise in (("ancestral", 0.0), ("confidence", 4.5)):
        model.generate(grid, model.track_names, steps=5, seed=99, order=order, choice_noise=noise, repair=off)
        for steps in steps_list:
            times = []
            for r in range(repeats):
                t0 = time.perf_counter()
                res = model.generate(grid, model.track_names, steps=steps, seed=r, order=order, choice_noise=noise,
                                     repair=off)
                times.append(time.perf_counter() - t0)
            out[f"{order}/{steps}"] = {"order": order, "choice_noise": noise, "steps": steps, "nfe": res.nfe,
                                       "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
                                       "repeats": repeats}
            print(json.dumps(out[f"{order}/{steps}"]), flush=True)
    return out


def part_harmonize(model, steps_list, limit: int) -> dict:
    from morphogen.music.evaluation import harmonize, load_split
    from morphogen.music.metrics.harmonization import HarmonizationMetrics
    from morphogen.music.models.repair import RepairConfig

    scores = load_split("chorales-test", None, limit)
    out = {}
    ref = HarmonizationMetrics(model.track_names, TARGETS)
    for s in scores:
        ref.update(s)
    b = ref.compute().as_dict()
    out["bach"] = {k: b[k] for k in KEYS if "overlap" not in k}
    for steps in steps_list:
        t0 = time.perf_counter()
        gen = harmonize(model, scores, TARGETS, steps, 0, 16, "confidence", 1.0, 4.5, RepairConfig())  # no repair
        sec = time.perf_counter() - t0
        m = HarmonizationMetrics(model.track_names, TARGETS)
        for s_gen, s_ref in zip(gen.scores, scores):
            m.update(s_gen, reference=s_ref)
        d = m.compute().as_dict()
        out[str(steps)] = {"steps": steps, "nfe": gen.nfe, "pieces": len(scores), "seconds": round(sec, 1),
                           **{k: d[k] for k in KEYS}}
        print(json.dumps(out[str(steps)]), flush=True)
    return out


def part_nll(model, num_t: int = 8) -> dict:
    from morphogen.music.evaluation import batch_grids, load_split
    from morphogen.music.metrics.nll import NLLMeter, nll_bound

    data = Path(os.environ.get("MORPHOGEN_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    scores = load_split("jsb-test", data / "music" / "jsb")
    voices = list(model.track_names)
    nll_all, nll_tgt, reduced = NLLMeter(), NLLMeter(), {}
    t0 = time.perf_counter()
    for start in range(0, len(scores), 16):
        g, lengths, enc = batch_grids(model, scores[start: start + 16])
        for e in enc:
            for k, v in e.report.items():
                reduced[k] = reduced.get(k, 0) + v
        nll_all.update(nll_bound(model, g, model.target_mask(g, voices, lengths), num_t, start))
        nll_tgt.update(nll_bound(model, g, model.target_mask(g, TARGETS, lengths), num_t, start))
    return {"split": "jsb-test", "pieces": len(scores), "num_t": num_t, "all_tracks": nll_all.compute(),
            "alto_tenor_bass_given_soprano": nll_tgt.compute(), "encoding_report": reduced,
            "seconds": round(time.perf_counter() - t0, 1)}


def write_md(res: dict) -> str:
    lines = ["# Shipped `chorales` model on a CPU", "",
             "Generated by `benchmarks/music_chorales.py` (protocols in its docstring). One thread.", ""]
    if "speed" in res:
        sp = res["speed"]
        lines += ["## Time to generate one 16-bar four-track chorale from scratch", "",
                  "| steps (NFE) | ancestral: median s (min-max) | confidence, noise 4.5: median s (min-max) |",
                  "|---:|---|---|"]
        for steps in STEPS:
            cells = []
            for order in ("ancestral", "confidence"):
                r = sp["rows"].get(f"{order}/{steps}")
                cells.append(f"{r['median_s']:.2f} ({r['min_s']:.2f}-{r['max_s']:.2f})" if r else "")
            lines.append(f"| {steps} | {cells[0]} | {cells[1]} |")
        m = sp["machine"]
        lines += ["", f"{sp['repeats']} runs each after a warm-up; {m['cpu']}, {m['cores']} cores (shared with other "
                  f"jobs: 1-min load {m['load_average_1min']:.2f}), torch {m['torch']}, {m['torch_threads']} "
                  f"thread(s), {m['date']}.", ""]
    if "harmonize" in res:
        h = res["harmonize"]
        n = next((r["pieces"] for k, r in h["rows"].items() if k != "bach"), 0)
        lines += [f"## Harmonising {n} held-out corpus chorales (confidence order, choice noise 4.5, seed 0)", "",
                  "| steps (NFE) | range | parallels /100 (5ths+8ves / transitions) | chord share | crossing % |"
                  " pc overlap | dur overlap | notes | s (12 pieces, one batch) |",
                  "|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
        for steps in STEPS:
            r = h["rows"].get(str(steps))
            if r:
                lines.append(f"| {steps} | {r['range_share']:.3f} | {r['parallels_per_100']:.2f} "
                             f"({r['parallel_fifths']}+{r['parallel_octaves']} / {r['voice_transitions']}) | "
                             f"{r['chord_share']:.3f} | {r['crossing_percent']:.2f} | {r['pitch_class_overlap']:.3f} |"
                             f" {r['duration_overlap']:.3f} | {r['notes']} | {r['seconds']:.0f} |")
        b = h["rows"]["bach"]
        lines += [f"| Bach | {b['range_share']:.3f} | {b['parallels_per_100']:.3f} ({b['parallel_fifths']}+"
                  f"{b['parallel_octaves']} / {b['voice_transitions']}) | {b['chord_share']:.3f} | "
                  f"{b['crossing_percent']:.2f} | | | {b['notes']} | |", "",
                  f"Machine: {h['machine']['cpu']}, load {h['machine']['load_average_1min']:.2f}, "
                  f"{h['machine']['date']}.", ""]
    if "nll" in res:
        r = res["nll"]
        a, t = r["all_tracks"], r["alto_tenor_bass_given_soprano"]
        lines += ["## NLL bound on JSB test", "",
                  f"{r['pieces']} pieces, {int(a['frames'])} sixteenth frames; continuous-time masked-diffusion NELBO "
                  f"with {r['num_t']} stratified t per piece, per 16th-note frame (summed nats / summed frames), every "
                  "target cell of a frame counted (pitch and duration rows, `<empty>` included); an upper bound on "
                  "-log p. Comparable to Coconet's frame-wise NLL in unit, not in representation "
                  "(see `morphogen.music.metrics.nll`).", "",
                  "| modelled | nats / frame | bits / frame |", "|---|---:|---:|",
                  f"| all four tracks | {a['nll_nats_per_frame']:.3f} | {a['nll_bits_per_frame']:.3f} |",
                  f"| alto, tenor, bass given soprano | {t['nll_nats_per_frame']:.3f} | "
                  f"{t['nll_bits_per_frame']:.3f} |", "",
                  f"Encoding report, summed over pieces: {r['encoding_report'] or 'nothing changed'}. "
                  f"{r['seconds']:.0f} s on {r['machine']['cpu']}, {r['machine']['date']}.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=["speed", "harmonize", "nll"], required=True)
    ap.add_argument("--steps", type=int, nargs="*", default=list(STEPS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--limit", type=int, default=12)
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("MORPHOGEN_THREADS", "1")))
    from morphogen.music.models.bundle import MusicModel

    model = MusicModel.load("chorales")
    path = RESULTS / "music_chorales.json"
    res = json.loads(path.read_text()) if path.is_file() else {}
    if args.part == "speed":
        rows = part_speed(model, args.steps, args.repeats)
        res["speed"] = {"rows": {**res.get("speed", {}).get("rows", {}), **rows}, "repeats": args.repeats,
                        "machine": machine_info()}
    elif args.part == "harmonize":
        rows = part_harmonize(model, args.steps, args.limit)
        old = res.get("harmonize", {}).get("rows", {})
        if any(k != "bach" and v.get("pieces") != args.limit for k, v in old.items()):
            old = {}
        res["harmonize"] = {"rows": {**old, **rows}, "machine": machine_info()}
    else:
        res["nll"] = {**part_nll(model), "machine": machine_info()}
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(res, indent=1))
    (RESULTS / "music_chorales.md").write_text(write_md(res))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
