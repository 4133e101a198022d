"""The demo part of ``morphogen demo``: segment generated fetal-head phantoms with the shipped ``hc18`` model, with
overlay and uncertainty pictures, and print the metrics against the phantoms' known masks.

The images are generated phantoms (:mod:`morphogen.medical.phantoms`), not HC18 images: HC18 may not be
redistributed and a fresh machine has none. The output says so.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

PHANTOMS = 3
DEMO_ENSEMBLE = 5
#: the ensemble's steps: one step gives the best single mask (the model's default), but its members then differ only
#: by their starting noise and their disagreement is not calibrated; at 10 steps it is (benchmarks/results/
#: medical_hc18.md, uncertainty rows)
DEMO_STEPS = 10


def run(out_dir: str | Path, model=None, phantoms: int = PHANTOMS, ensemble: int = DEMO_ENSEMBLE,
        steps: int = DEMO_STEPS):
    """Write ``phantoms`` phantoms to ``OUT/phantoms/``, segment them with ``model`` (default: the shipped ``hc18``)
    as an ensemble of ``ensemble`` members of ``steps`` steps, write masks, overlays, uncertainty maps, ``index.csv`` and
    ``metrics.json``; returns the demo row."""
    import numpy as np

    from morphogen.bundle import load
    from morphogen.cli.plugins import DemoResult
    from morphogen.medical.evaluation import evaluate_masks
    from morphogen.medical.io.pictures import write_mask
    from morphogen.medical.phantoms import make_phantom
    from morphogen.medical.segmentation import run_segmentation
    from morphogen.utils.outputs import write_output as atomic_write

    t0 = time.time()
    out = Path(out_dir)
    src = out / "phantoms"
    src.mkdir(parents=True, exist_ok=True)
    truth = {}
    for i in range(phantoms):
        ph = make_phantom(seed=1000 + i)
        name = f"phantom_{i:02d}"
        from PIL import Image

        Image.fromarray(ph.image).save(src / f"{name}.png")
        write_mask(src / f"{name}_Annotation.png", ph.mask)
        truth[name] = ph
    model = model if model is not None else load("hc18", domain="medical")
    info = run_segmentation(model, src, out, steps=steps, ensemble=ensemble, seed=0)
    from PIL import Image

    preds = {k: np.asarray(Image.open(out / f"{k}_mask.png")) > 127 for k in truth}
    report = evaluate_masks({k: (preds[k], truth[k].mask, (truth[k].pixel_size,) * 2, truth[k].hc_mm)
                             for k in truth})
    report["images"] = "generated phantoms (morphogen.medical.phantoms), not HC18 images"
    report["segmentation"] = info
    atomic_write(out / "metrics.json", lambda tmp: Path(tmp).write_text(json.dumps(report, indent=1) + "\n"))
    s = report["summary"]
    print(json.dumps(s, indent=1))
    files = [str(out / f"{k}_{kind}.png") for k in truth for kind in ("mask", "overlay", "uncertainty")]
    return DemoResult("medical", f"{phantoms} generated fetal-head phantoms (not HC18 images) segmented by the shipped "
                      f"hc18 model ({info['steps']} steps x {ensemble} members, STAPLE; HD95 "
                      f"{s['hd95_mean']:.2f} mm, HC error {s['hc_abs_error_mm_mean']:.2f} mm)", "Dice",
                      round(s["dice_mean"], 3), time.time() - t0,
                      files + [str(out / "index.csv"), str(out / "metrics.json")])
