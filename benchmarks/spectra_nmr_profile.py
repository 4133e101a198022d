"""Time of one training step (forward, backward, AdamW) of the spectra denoiser on NMRShiftDB2 batches, at several
widths and batch sizes: what chose the nmrshiftdb2 preset's budget (spectra, issue 13).

    python benchmarks/spectra_nmr_profile.py [--threads 1] [--steps 6]

Batches come from the preset's own training set (NMR molecules and QM9 prior molecules, size-bucketed and trimmed
as training draws them; the first 400 records of each split). Median of ``--steps`` timed steps after two warm-up
steps, every configuration in one run. Writes benchmarks/results/spectra_nmr_profile.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

#: (label, denoiser overrides, batch size)
CONFIGS = [
    ("d_model 128, 6 layers, d_edge 32 (the preset before)", {"d_model": 128, "layers": 6, "d_edge": 32}, 64),
    ("d_model 128, 6 layers, d_edge 32", {"d_model": 128, "layers": 6, "d_edge": 32}, 32),
    ("d_model 96, 4 layers, d_edge 32", {"d_model": 96, "layers": 4, "d_edge": 32}, 32),
    ("d_model 96, 4 layers, d_edge 16", {"d_model": 96, "layers": 4, "d_edge": 16}, 32),
    ("d_model 64, 4 layers, d_edge 32", {"d_model": 64, "layers": 4, "d_edge": 32}, 32),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--note", default="")
    a = ap.parse_args()
    from morphogen.utils.threads import configure_threads

    configure_threads(a.threads)
    import torch
    from torch.utils.data import DataLoader

    from _machine import command_line, machine_info
    from morphogen.spectra.training import _nmr_data, build_model, load_preset
    from morphogen.train.module import GenerativeModule

    preset = load_preset("nmrshiftdb2")
    td, *_ = _nmr_data(preset, None, 400)
    rows = []
    for label, overrides, batch in CONFIGS:
        torch.manual_seed(0)
        model = build_model(preset, overrides)
        module = GenerativeModule(model.process, model.denoiser, objective=model.objective(), lr=1e-4)
        opt = torch.optim.AdamW(model.denoiser.parameters(), lr=1e-4)
        batches = iter(DataLoader(td.train, batch_size=batch, sampler=td.shuffle(len(td.train), 0, batch),
                                  collate_fn=td.collate))
        times = []
        for i in range(a.steps + 2):
            b = next(batches)
            t0 = time.perf_counter()
            out = module.compute_loss(b, torch.Generator().manual_seed(i))
            opt.zero_grad()
            out.loss.backward()
            opt.step()
            times.append(time.perf_counter() - t0)
        times = sorted(times[2:])
        med = times[len(times) // 2]
        rows.append({"config": label, "overrides": overrides, "batch": batch,
                     "parameters": sum(p.numel() for p in model.denoiser.parameters()),
                     "seconds_per_step": round(med, 3), "molecules_per_second": round(batch / med, 1)})
        print(json.dumps(rows[-1]), flush=True)
    result = {"command": command_line(), "note": a.note, "threads": a.threads, "machine": machine_info(), "rows": rows}
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "spectra_nmr_profile.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [f"Command: `{result['command']}`", "", "# Spectra denoiser: one training step on NMRShiftDB2 batches", "",
             f"{a.threads} thread(s); median of {a.steps} steps after 2 warm-up steps; every row in one run. "
             f"{a.note}".rstrip(), "",
             "| denoiser | batch | parameters | s / step | molecules / s |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['config']} | {r['batch']} | {r['parameters']:,} | {r['seconds_per_step']:.3f} | "
                     f"{r['molecules_per_second']:.1f} |")
    m = result["machine"]
    lines += ["", f"Machine: {m.get('cpu', '')}, torch {m.get('torch', '')}, {m.get('date', '')}."]
    (out / "spectra_nmr_profile.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
