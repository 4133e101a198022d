"""Time of one training step (forward, backward, AdamW) of the crystals denoisers on Perov-5, one thread.

    python benchmarks/crystals_denoiser_profile.py [--data FILE] [--families flow,diffusion,bfn] [--batch 256]

Compares the first-generation ``CrystalDenoiser`` (models/cspnet.py, at the width of the old perov_5 preset: hidden
128, 4 layers, 16 frequencies, six lattice parameters) with ``CSPNet`` as the perov_5 preset builds it (same width,
lattice matrix), for each process family of the preset, on the same first ``--batch`` training cells. Median of
``--steps`` timed steps after two warm-up steps. Writes benchmarks/results/crystals_denoiser_profile.{json,md}.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

OLD = {"class": "morphogen.crystals.models.cspnet.CrystalDenoiser",
       "args": {"hidden": 128, "layers": 4, "num_freqs": 16, "kappa_scale": 1000.0}}


def main() -> None:
    from morphogen.utils.threads import configure_threads

    configure_threads(1)
    import torch
    from _machine import command_line, machine_info

    import morphogen.train.entry  # noqa: F401  (the trainer's imports, as a run has them)
    from morphogen.crystals.data import CrystalDataset, collate_crystals, lattice_codec_class
    from morphogen.crystals.experiment import build_model, lattice_form, load_preset, load_splits
    from morphogen.train.module import GenerativeModule
    from morphogen.utils.padding import CountHistogram

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=None, help="pool CSV or prepared .json.gz (default: ../shared/data)")
    ap.add_argument("--families", default="flow,diffusion,bfn")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=10)
    a = ap.parse_args()
    new = load_preset("perov_5")
    old = copy.deepcopy(new)
    old.denoiser = OLD
    splits = load_splits(new, a.data)
    counts = np.asarray([r.num_atoms for r in splits.train])
    params = np.stack([r.lattice for r in splits.train])
    rows = []
    for family in a.families.split(","):
        for label, preset in (("CrystalDenoiser (old)", old), ("CSPNet (new)", new)):
            torch.manual_seed(0)
            codec = lattice_codec_class(lattice_form(preset, family)).fit(params, counts)
            model = build_model(preset, "csp", family, codec, CountHistogram.from_counts(counts))
            ds = CrystalDataset(splits.train, codec, "csp")
            batch = collate_crystals([ds[i] for i in range(a.batch)])
            module = GenerativeModule(model.process, model.denoiser)
            opt = torch.optim.AdamW(model.denoiser.parameters(), 1e-3)
            g = torch.Generator().manual_seed(0)
            times = []
            for i in range(a.steps + 2):
                t0 = time.perf_counter()
                loss = module.compute_loss(batch, g).loss
                opt.zero_grad()
                loss.backward()
                opt.step()
                if i >= 2:
                    times.append(time.perf_counter() - t0)
            size = sum(p.numel() for p in model.denoiser.parameters())
            row = {"family": family, "denoiser": label, "parameters": size,
                   "lattice": codec.form, "batch": a.batch, "sec_per_step": float(np.median(times)),
                   "min_sec": float(min(times))}
            rows.append(row)
            print(json.dumps(row), flush=True)
    out = {"machine": machine_info(), "rows": rows, "data": splits.source}
    res = ROOT / "benchmarks" / "results"
    res.mkdir(parents=True, exist_ok=True)
    (res / "crystals_denoiser_profile.json").write_text(json.dumps(out, indent=2))
    lines = [f"One training step on Perov-5 (batch {a.batch}, 5 atoms a cell), one thread of {out['machine']['cpu']}; "
             "median of the timed steps (the machine was shared with other jobs: compare rows, not absolutes).", "",
             "| process | denoiser | lattice field | parameters | s / step |", "|---|---|---|---|---|"]
    lines += [f"| {r['family']} | {r['denoiser']} | {r['lattice']} | {r['parameters']:,} | {r['sec_per_step']:.2f} |"
              for r in rows]
    (res / "crystals_denoiser_profile.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
