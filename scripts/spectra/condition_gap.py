"""Does a qm9-ir model read its spectrum? The validation loss of the model (EMA weights) on the preset's validation
molecules, with each molecule's own IR spectrum, with the spectrum marked absent (``ir_present`` False), and with the
spectrum of another molecule of the batch; the same corruption (seeded) in all three. A model that reads the
spectrum has a lower loss with its own than with none or a shuffled one.

    python scripts/spectra/condition_gap.py MODEL [--molecules 128] [--repeats 3] [--train-limit N]

``--train-limit N`` scores the training molecules of a run trained with ``limit=N`` (an overfitting check) instead
of the validation molecules.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="a qm9-ir model file or shipped name")
    ap.add_argument("--molecules", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--train-limit", type=int, default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    from morphogen import bundle
    from morphogen.spectra.data.molecules import SpectraDataset, collate_trimmed
    from morphogen.spectra.training import ir_split, load_preset
    from morphogen.train.data import unpack_batch

    model = bundle.load(a.model, domain="spectra")
    preset = load_preset("qm9-ir")
    _, _, train, val = ir_split(preset, None, a.train_limit)  # the split `train` uses
    val = (train if a.train_limit else val)[:a.molecules]
    ds = SpectraDataset(val, int(preset.data.get("max_atoms", 29)), 0.0)
    den, objective, process = model.denoiser.eval(), model.objective(), model.process
    totals: dict[str, dict[str, list]] = {"own spectrum": {}, "spectrum absent": {}, "another's spectrum": {}}
    for rep in range(a.repeats):
        for s in range(0, len(ds), 32):
            fields, masks, cond = unpack_batch(collate_trimmed([ds[i] for i in range(s, min(len(ds), s + 32))]))
            corrupted = process.corrupt(fields, masks, generator=torch.Generator().manual_seed(1000 * rep + s))
            state = {k: c.state for k, c in corrupted.items()}
            for name, c in totals.items():
                condition = dict(cond)
                if name == "spectrum absent":
                    condition["ir_present"] = torch.zeros_like(condition["ir_present"])
                elif name == "another's spectrum":
                    condition["ir"] = condition["ir"].roll(1, 0)
                with torch.no_grad():
                    out = objective(process, den(state, condition, None), den.prediction_kinds, corrupted)
                for k, v in {**out.per_field, "total": out.loss}.items():
                    c.setdefault(k, []).append(float(v))
    print(f"{len(ds)} {'training' if a.train_limit else 'validation'} molecules x {a.repeats} corruptions")
    for name, c in totals.items():
        print(f"{name:20s}" + "  ".join(f"{k} {np.mean(v):.4f}" for k, v in c.items()))


if __name__ == "__main__":
    main()
