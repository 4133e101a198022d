"""Crystal structure prediction and generation as the commands do them, for any caller: ``predict`` (k samples of
every composition, all in the same batches), ``generate``, and the demo.

```python
from morphogen.crystals.experiment import load_model
from morphogen.crystals.prediction import predict
pred = predict(load_model("perov_5"), compositions, num_samples=5)   # pred.samples[k][i]
pred.write("out/")                                                   # CIFs + index.csv, as `predict` writes them
```
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from morphogen.crystals.experiment import sample_structures
from morphogen.crystals.io.folders import WrittenFolder, write_generation_folder, write_prediction_folder


@dataclass
class Prediction:
    """CSP samples.

    Attributes:
        compositions: the :class:`morphogen.crystals.data.CompositionRecord` s predicted, in input order.
        samples: ``samples[k][i]``: sample k of composition i (a pymatgen Structure, None where no cell).
        nfe: network evaluations per sample (the sampler's count).
        sampler: the sampler that ran (a :class:`morphogen.samplers.spec.SamplerSpec`).
    """

    compositions: list
    samples: list[list]
    nfe: int
    sampler: Any

    def per_composition(self) -> list[list]:
        """``[samples of composition i]`` for each i (the layout :func:`csp_match` takes)."""
        return [[run[i] for run in self.samples] for i in range(len(self.compositions))]

    def write(self, out: str | os.PathLike) -> WrittenFolder:
        return write_prediction_folder(out, self.compositions, self.samples)


@dataclass
class Generation:
    """Generated cells (pymatgen Structures, None where no cell), the NFE per sample and the sampler."""

    structures: list
    nfe: int
    sampler: Any

    def write(self, out: str | os.PathLike) -> WrittenFolder:
        return write_generation_folder(out, self.structures)


def predict(model, compositions: Sequence, num_samples: int = 1, *, sampler: str | None = None,
            steps: int | None = None, seed: int = 0, batch_size: int | None = None,
            device: str | None = None) -> Prediction:
    """``num_samples`` structures for each composition (records with ``atomic_numbers``) from a CSP model.

    All samples of all compositions are drawn in the same batches (sample-major: sample 0 of every composition,
    then sample 1, ...) from one generator seeded with ``seed``; one sample per composition is what
    :func:`sample_structures` gives for the compositions alone."""
    if model.task != "csp":
        raise ValueError("this model generates ab initio (task 'gen'); use generate")
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    comps = list(compositions)
    res = sample_structures(model, [c.atomic_numbers for c in comps] * num_samples, sampler=sampler, steps=steps,
                            seed=seed, batch_size=batch_size, device=device)
    n = len(comps)
    return Prediction(comps, [res.structures[k * n:(k + 1) * n] for k in range(num_samples)], res.nfe, res.sampler)


def generate(model, num_samples: int, *, sampler: str | None = None, steps: int | None = None, seed: int = 0,
             batch_size: int | None = None, device: str | None = None) -> Generation:
    """``num_samples`` cells from a generation model (atom counts drawn from its training histogram)."""
    if model.task != "gen":
        raise ValueError("this model is a CSP model (task 'csp'); use predict")
    res = sample_structures(model, num_samples=num_samples, sampler=sampler, steps=steps, seed=seed,
                            batch_size=batch_size, device=device)
    return Generation(res.structures, res.nfe, res.sampler)


def run_demo(out_dir: str | os.PathLike, checkpoint: str = "perov_5", limit: int = 50):
    """Predict the structures of the first ``limit`` held-out Perov-5 compositions with the shipped ``perov_5``
    model (one sample each, its default sampler), report the match rate against the true structures, write the
    CIFs, index.csv, metrics.json and a picture of the first predicted cell beside the true one (each atomically;
    index.csv after the CIFs, metrics.json last). Returns the
    :class:`morphogen.cli.plugins.DemoResult` row."""
    import numpy as np

    from morphogen.cli.plugins import DemoResult
    from morphogen.crystals.data import CompositionRecord, record_to_structure
    from morphogen.crystals.experiment import load_model, load_preset, load_splits
    from morphogen.crystals.io.draw import draw_cells
    from morphogen.crystals.metrics import csp_match
    from morphogen.utils.outputs import atomic_json

    t0 = time.time()
    out_dir = Path(out_dir)
    model = load_model(checkpoint)
    test = load_splits(load_preset("perov_5")).test[:limit]
    refs = [record_to_structure(r) for r in test]
    comps = [CompositionRecord(r.atomic_numbers, s.composition.reduced_formula, r.material_id, i)
             for i, (r, s) in enumerate(zip(test, refs))]
    pred = predict(model, comps)
    pred.write(out_dir)
    preds = pred.samples[0]
    res = csp_match(pred.per_composition(), refs)
    first = next(i for i, s in enumerate(preds) if s is not None)
    ok = "matched" if np.isfinite(res.rms[first]) else "not matched"
    pic = draw_cells([preds[first], refs[first]], [f"predicted {refs[first].composition.reduced_formula} ({ok})",
                                                    "true structure"], out_dir / "cell.png")
    atomic_json(out_dir / "metrics.json", {**res.as_dict(), "checkpoint": checkpoint, "process": model.family,
                                           "sampler": pred.sampler.to_dict(), "nfe": pred.nfe})
    return DemoResult("crystals", f"structures for {len(test)} held-out Perov-5 compositions, shipped {checkpoint} "
                      f"model ({model.family}, {pred.sampler.name} sampler, {pred.nfe} NFE; RMSE {res.rmse:.3f})",
                      "match rate", round(float(res.match_rate), 4), time.time() - t0,
                      [str(out_dir / "index.csv"), str(pic), str(out_dir / "metrics.json")])
