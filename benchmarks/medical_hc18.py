"""Echo-DND on held-out HC18 subjects: quality against network evaluations, ensembles, the chain ablation, the
deterministic baselines, what the uncertainty means, and speed (medical, issue 12).

Every row is scored at the image's own size (800 x 540) on the test split of the `hc18` preset (split by subject,
seed 0): Dice, IoU, HD95 in mm and the absolute head-circumference error in mm (ellipse fitted to the predicted
mask, Ramanujan's perimeter, against HC18's reference circumference), as `morphogen medical evaluate` scores.

Rows (each run separately, merged into benchmarks/results/medical_hc18.json; the .md is rewritten from all rows):

    --row meanmask                         the mean training mask, thresholded at 0.5
    --row unet --model PATH                the deterministic MONAI U-Net (benchmarks/medical_unet.py)
    --row dnd --model NAME_OR_PATH --label L --steps 1 5 10 20 50 --ensemble 1 5
                                           Echo-DND at each (steps, ensemble); NFE per image = steps x ensemble
    --row uncertainty --model M --steps S  ensemble of 5: correlation of mean uncertainty with 1 - Dice per image,
                                           pixel calibration of the members' foreground frequency
    --row speed --model M                  images per second at the model's default setting, peak memory

    python benchmarks/medical_hc18.py --row dnd --model hc18 --label dual --steps 1 5 10 20 50 --ensemble 1 5
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_info  # noqa: E402

RESULTS = Path(__file__).parent / "results"
NAME = "medical_hc18"


def test_split(limit: int | None = None, split: str = "test"):
    from morphogen.medical.data.splits import split_by_subject
    from morphogen.medical.training import load_preset, read_records

    preset = load_preset("hc18")
    sp = preset.data["split"]
    recs = split_by_subject(read_records(preset), sp["val"], sp["test"], sp["seed"])
    return preset, recs, (recs[split][:limit] if limit else recs[split])


def score(records, masks: dict[str, np.ndarray]) -> dict:
    from morphogen.medical.evaluation import evaluate_masks

    items = {r.id: (masks[r.id], r.load().mask, r.spacing, r.hc_mm) for r in records}
    return evaluate_masks(items)


def summary_row(kind: str, label: str, rep: dict, **extra) -> dict:
    s = rep["summary"]
    keys = ("n", "dice_mean", "dice_median", "dice_worst", "iou_mean", "hd95_mean", "hd95_median",
            "hc_abs_error_mm_mean", "hc_abs_error_mm_median", "hc_error_mm_mean", "hc_abs_error_vs_mask_mm_mean",
            "hd95_nonfinite")
    return {"row": kind, "label": label, **{k: s.get(k) for k in keys}, **extra}


def row_meanmask(preset, recs, test) -> list[dict]:
    from morphogen.medical.baselines import mean_mask
    from morphogen.medical.data.preprocess import prepare, to_original_size

    tr = prepare(recs["train"], tuple(preset.data["size"]))
    prob = mean_mask(tr.masks)
    masks = {}
    for r in test:
        s = r.load()
        masks[r.id] = to_original_size(prob, s.image.shape).numpy() >= 0.5
    return [summary_row("meanmask", "mean training mask", score(test, masks), nfe=0)]


def row_unet(model: str, test) -> list[dict]:
    from morphogen.medical.baselines import load_unet, unet_probability
    from morphogen.medical.data.preprocess import normalize, resize_image, to_original_size
    from morphogen.medical.postprocess import largest_component

    net, cfg = load_unet(model)
    size = tuple(cfg["image_size"])
    masks, raw, t0 = {}, {}, time.perf_counter()
    for i in range(0, len(test), 8):
        chunk = [r.load() for r in test[i:i + 8]]
        x = normalize(torch.stack([resize_image(s.image, size) for s in chunk]))
        p = unet_probability(net, x)
        for r, s, pi in zip(test[i:i + 8], chunk, p):
            m = to_original_size(pi, s.image.shape).numpy() >= 0.5
            raw[r.id], masks[r.id] = m, largest_component(m)
    dt = time.perf_counter() - t0
    extra = {"nfe": 1, "steps_trained": cfg.get("steps_trained"), "train_minutes": cfg.get("train_minutes")}
    return [summary_row("unet", "MONAI U-Net (deterministic)", score(test, masks), **extra,
                        images_per_second=round(len(test) / dt, 3)),
            summary_row("unet", "MONAI U-Net, no post-processing", score(test, raw), **extra)]


def dnd_masks(model, test, steps: int, ensemble: int, seed: int = 0, postprocess: str | None = None):
    from morphogen.medical.segmentation import images_per_call, segment_arrays

    if postprocess is not None:
        model.postprocess = postprocess
    gen = torch.Generator().manual_seed(seed)
    out, t0 = {}, time.perf_counter()
    per_call = images_per_call(8, ensemble)  # as `morphogen medical segment` batches them
    for i in range(0, len(test), per_call):
        chunk = test[i:i + per_call]
        imgs = [r.load().image for r in chunk]
        for r, res in zip(chunk, segment_arrays(model, imgs, steps=steps, ensemble=ensemble, generator=gen)):
            out[r.id] = res
    return out, time.perf_counter() - t0


def row_dnd(model_name: str, label: str, test, steps_list, ensembles, postprocess: str | None) -> list[dict]:
    from morphogen.bundle import load

    model = load(model_name, domain="medical")
    rows = []
    for n in ensembles:
        for st in steps_list:
            res, dt = dnd_masks(model, test, st, n, postprocess=postprocess)
            rep = score(test, {k: v["mask"] for k, v in res.items()})
            rows.append(summary_row("dnd", label, rep, steps=st, ensemble=n, nfe=st * n,
                                    postprocess=model.postprocess, images_per_second=round(len(test) / dt, 3),
                                    model=model_name, steps_trained=model.metadata.steps_trained))
            print(json.dumps(rows[-1]), flush=True)
    return rows


def row_uncertainty(model_name: str, test, steps: int, ensemble: int = 5) -> list[dict]:
    from morphogen.bundle import load
    from morphogen.medical.metrics.calibration import reliability, uncertainty_correlation
    from morphogen.medical.metrics.overlap import dice

    model = load(model_name, domain="medical")
    res, _ = dnd_masks(model, test, steps, ensemble)
    truths = {r.id: r.load().mask for r in test}
    unc = [float(res[r.id]["uncertainty"].mean()) for r in test]
    # the disagreement lies in a band along the boundary, so its image mean grows with the head's size while 1 - Dice
    # shrinks with it; per predicted-foreground pixel it measures the band's width against the object's size
    per_fg = [float(res[r.id]["uncertainty"].sum() / max(1, res[r.id]["mask"].sum())) for r in test]
    area = [float(truths[r.id].mean()) for r in test]
    one_minus = [1.0 - float(dice(res[r.id]["mask"], truths[r.id])) for r in test]
    corr = uncertainty_correlation(np.asarray(unc), np.asarray(one_minus))
    corr_fg = uncertainty_correlation(np.asarray(per_fg), np.asarray(one_minus))
    corr_area = uncertainty_correlation(np.asarray(area), np.asarray(one_minus))
    freqs = [(res[r.id]["members"] >= model.threshold).mean(0) for r in test]
    rel = reliability(freqs, [truths[r.id] for r in test], bins=ensemble + 1)
    from dataclasses import asdict

    return [{"row": "uncertainty", "label": f"ensemble {ensemble}, {steps} steps", "steps": steps,
             "ensemble": ensemble, "nfe": steps * ensemble, "model": model_name, "n": len(test),
             "correlation": asdict(corr), "correlation_per_foreground_pixel": asdict(corr_fg),
             "correlation_head_area": asdict(corr_area), "ece": rel.ece,
             "per_image": [{"id": r.id, "mean_uncertainty": u, "uncertainty_per_foreground_pixel": f,
                            "foreground_fraction": a, "one_minus_dice": e}
                           for r, u, f, a, e in zip(test, unc, per_fg, area, one_minus)],
             "reliability": [dict(zip(("low", "high", "mean_predicted", "frequency", "pixels"), r))
                             for r in rel.rows()]}]


def row_speed(model_name: str, test, repeats: int = 3) -> list[dict]:
    from morphogen.bundle import load

    model = load(model_name, domain="medical")
    imgs = test[:16]
    times = []
    for _ in range(repeats):
        _, dt = dnd_masks(model, imgs, model.sampler.steps, 1)
        times.append(dt)
    med = float(np.median(times))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [{"row": "speed", "label": "default setting", "model": model_name, "steps": model.sampler.steps,
             "ensemble": 1, "nfe": model.sampler.steps, "images": len(imgs), "seconds_median": round(med, 3),
             "images_per_second": round(len(imgs) / med, 3), "peak_rss_mib": round(peak_mib, 1),
             "threads": torch.get_num_threads()}]


def _fmt(v, nd=3):
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def write_table(rows: list[dict]) -> str:
    lines = ["# HC18, held-out subjects (test split of the hc18 preset)", "",
             "Scored at the image's size: Dice / IoU, HD95 in mm, absolute head-circumference error in mm. NFE = "
             "network evaluations per image (steps x ensemble members).", "",
             "| model | steps | ensemble | NFE | Dice mean | Dice median | Dice worst | IoU | HD95 mm | HC abs err mm | "
             "HC signed err mm | images/s | n | command |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["row"] in ("meanmask", "unet", "dnd"):
            lines.append(f"| {r['label']} | {_fmt(r.get('steps'))} | {_fmt(r.get('ensemble'))} | {_fmt(r.get('nfe'))} "
                         f"| {_fmt(r['dice_mean'])} | {_fmt(r['dice_median'])} | {_fmt(r['dice_worst'])} | "
                         f"{_fmt(r['iou_mean'])} | {_fmt(r['hd95_mean'], 2)} | {_fmt(r['hc_abs_error_mm_mean'], 2)} | "
                         f"{_fmt(r['hc_error_mm_mean'], 2)} | {_fmt(r.get('images_per_second'), 2)} | {r['n']} | "
                         f"`{r.get('machine', {}).get('command', '')}` |")
    for r in rows:
        if r["row"] == "uncertainty":
            c = r["correlation"]
            lines += ["", f"## Uncertainty ({r['label']}, {r['n']} images)", "",
                      f"Correlation of the mean per-pixel disagreement with 1 - Dice, per image: Pearson "
                      f"{c['pearson']:.3f} (p = {c['pearson_p']:.2g}), Spearman {c['spearman']:.3f} (p = "
                      f"{c['spearman_p']:.2g}).", ""]
            for key, what in (("correlation_per_foreground_pixel", "The disagreement summed over the image and "
                               "divided by the predicted foreground area (the boundary band's width against the "
                               "head's size)"),
                              ("correlation_head_area", "For reference, the true head's share of the image")):
                if key in r:
                    c = r[key]
                    lines += [f"{what}, against 1 - Dice: Pearson {c['pearson']:.3f} (p = {c['pearson_p']:.2g}), "
                              f"Spearman {c['spearman']:.3f} (p = {c['spearman_p']:.2g}).", ""]
            lines += [f"Pixel calibration of the members' foreground frequency (ECE {r['ece']:.4f}):", "",
                      "| members voting foreground | mean predicted | observed foreground frequency | pixels |",
                      "|---|---|---|---|"]
            for b in r["reliability"]:
                lines.append(f"| [{b['low']:.2f}, {b['high']:.2f}) | {_fmt(b['mean_predicted'])} | "
                             f"{_fmt(b['frequency'])} | {b['pixels']} |")
        if r["row"] == "speed":
            lines += ["", "## Speed", "", f"{r['images_per_second']} images/s at {r['steps']} steps, one member, "
                      f"{r['threads']} thread(s); peak memory {r['peak_rss_mib']} MiB (process RSS)."]
    lines += ["", "Models given by path were trained by: the U-Net, `python benchmarks/medical_unet.py --out DIR` (the "
              "hc18 preset's split, size, augmentation, batch 16, optimiser and 4,000 steps; 55 minutes on one "
              "thread); the ablation rows, `morphogen medical train --preset hc18_ablation --variant V --out DIR` "
              "(V = gaussian | bernoulli | dual). The shipped hc18 is `morphogen medical train --preset hc18`.",
              "", "Machines: benchmarks/results/medical_hc18.json (each row's `machine`)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--row", required=True, choices=["meanmask", "unet", "dnd", "uncertainty", "speed"])
    ap.add_argument("--model", default="hc18")
    ap.add_argument("--label", default="Echo-DND (dual)")
    ap.add_argument("--steps", type=int, nargs="+", default=[10])
    ap.add_argument("--ensemble", type=int, nargs="+", default=[1])
    ap.add_argument("--postprocess", choices=["none", "largest"], default=None)
    ap.add_argument("--limit", type=int, default=None, help="first N test images (quick checks; not for results)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--split", choices=["test", "val"], default="test",
                    help="val: choose settings on the validation subjects (printed, never merged into the results)")
    ap.add_argument("--no-save", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    preset, recs, test = test_split(a.limit, a.split)
    if a.row == "meanmask":
        rows = row_meanmask(preset, recs, test)
    elif a.row == "unet":
        rows = row_unet(a.model, test)
    elif a.row == "dnd":
        rows = row_dnd(a.model, a.label, test, a.steps, a.ensemble, a.postprocess)
    elif a.row == "uncertainty":
        rows = row_uncertainty(a.model, test, a.steps[0], a.ensemble[0] if a.ensemble != [1] else 5)
    else:
        rows = row_speed(a.model, test)
    info = machine_info()
    for r in rows:
        r["machine"] = info
    print(json.dumps(rows, indent=1, default=str))
    if a.no_save or a.limit or a.split != "test":
        return
    RESULTS.mkdir(exist_ok=True)
    import fcntl

    with open(RESULTS / f".{NAME}.lock", "w") as lock:  # rows run in parallel processes merge one at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        _merge(rows)


def _merge(rows: list[dict]) -> None:
    path = RESULTS / f"{NAME}.json"
    old = json.loads(path.read_text())["rows"] if path.is_file() else []
    key = lambda r: (r["row"], r["label"], r.get("steps"), r.get("ensemble"), r.get("postprocess"))  # noqa: E731
    merged = {key(r): r for r in old}
    merged.update({key(r): r for r in rows})
    allrows = sorted(merged.values(), key=lambda r: (["meanmask", "unet", "dnd", "uncertainty", "speed"].index(r["row"]),
                                                      r["label"], r.get("ensemble") or 0, r.get("steps") or 0))
    path.write_text(json.dumps({"rows": allrows}, indent=1, default=str) + "\n")
    (RESULTS / f"{NAME}.md").write_text(write_table(allrows))


if __name__ == "__main__":
    main()
