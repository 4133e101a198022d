"""Train and measure the NMR shift predictor (:mod:`morphogen.spectra.shifts`) and write the shipped
``domains/morphogen/spectra/checkpoints/forward/shifts.safetensors``.

Data: NMRShiftDB2 records of C, N, O, F molecules with an experimental 13C or 1H list, less every structure of the
``nmrshiftdb2`` preset's validation and test split (by connectivity layer), so that ranking elucidation candidates
by predicted spectra never saw a held-out molecule. 5 % of the rest (seeded, by structure) is the predictor's own
validation set, which picks the epoch. The table reports mean absolute errors (sorted matching) on that set and on
the elucidation test molecules.

    python benchmarks/spectra_shifts.py
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--layers", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "domains/morphogen/spectra/checkpoints/forward/shifts.safetensors"))
    ap.add_argument("--tag", default="")
    args = ap.parse_args(argv)

    import torch

    from morphogen.spectra.shifts import evaluate_shifts, shift_records, train_shift_predictor
    from morphogen.spectra.training import load_preset, nmr_split, spectra_file

    torch.set_num_threads(1)
    preset = load_preset("nmrshiftdb2")
    parts = nmr_split(preset)
    held = {m.extra["key"] for m in parts["val"] + parts["test"]}
    test_keys = {m.extra["key"] for m in parts["test"]}
    path = spectra_file(preset, None)
    t0 = time.perf_counter()
    recs, counts = shift_records(path, exclude_keys=held)
    # the elucidation test molecules, scored (never trained on)
    test_recs, _ = shift_records(path, exclude_keys=set())
    test_recs = [r for r in test_recs if r.key in test_keys]
    keys = sorted({r.key for r in recs})
    rng = np.random.default_rng(0)
    val_keys = set(rng.choice(keys, max(1, len(keys) // 20), replace=False).tolist())
    train = [r for r in recs if r.key not in val_keys]
    val = [r for r in recs if r.key in val_keys]
    print(f"{len(train)} training, {len(val)} validation, {len(test_recs)} elucidation-test records; {counts.to_dict()}",
          flush=True)
    pred = train_shift_predictor(train, val, epochs=args.epochs, width=args.width, layers=args.layers)
    seconds = time.perf_counter() - t0
    vc, vh = evaluate_shifts(pred.net, val)
    tc, th = evaluate_shifts(pred.net, test_recs)
    small = [r for r in val if len(r.graph.x) <= 9]
    sc, sh = evaluate_shifts(pred.net, small)
    command = "python benchmarks/spectra_shifts.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    pred.notes.update(records=counts.to_dict(), train=len(train), val=len(val), val_c13_mae=round(vc, 3),
                      val_h1_mae=round(vh, 4), test_c13_mae=round(tc, 3), test_h1_mae=round(th, 4), command=command)
    pred.save(args.out)
    rows = [("predictor validation (all sizes)", len(val), vc, vh), ("predictor validation, <= 9 heavy atoms", len(small), sc, sh),
            ("elucidation test molecules (nmrshiftdb2 preset)", len(test_recs), tc, th)]
    record = {"description": "NMR shift predictor: mean absolute error (ppm) under sorted matching",
              "command": command, "machine": {"platform": platform.platform(), "python": platform.python_version(),
                                              "torch": torch.__version__, "threads": 1},
              "train_records": len(train), "counts": counts.to_dict(), "seconds": round(seconds, 1),
              "width": args.width, "layers": args.layers, "epochs": args.epochs, "history": pred.notes["history"],
              "rows": [{"set": a, "records": n, "c13_mae": round(c, 3), "h1_mae": round(h, 4)} for a, n, c, h in rows]}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"spectra_shifts{args.tag}.json").write_text(json.dumps(record, indent=1))
    lines = ["# NMR shift predictor (forward model for ranking candidates)", "",
             f"Command: `{command}`. {len(train)} training records (NMRShiftDB2, C/N/O/F, experimental 13C or 1H, the "
             "elucidation validation and test structures removed), a graph network of "
             f"{args.layers} message-passing layers x {args.width}, {args.epochs} epochs in {seconds / 60:.1f} min on "
             "one thread. Errors are mean absolute differences of the sorted predicted and measured lists (ppm).", "",
             "| set | records | 13C MAE | 1H MAE |", "|---|---|---|---|"]
    lines += [f"| {a} | {n} | {c:.2f} | {h:.3f} |" for a, n, c, h in rows]
    lines += ["", f"Records kept / left out: {counts.to_dict()}.", ""]
    (RESULTS / f"spectra_shifts{args.tag}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
