"""Scoring predicted masks against references, the way segmentation papers report it: Dice, IoU, HD95 (in mm
where the pixel size is known, else pixels) and, for HC18, the head-circumference error in mm (an ellipse fitted to
the predicted mask, Ramanujan's perimeter, against the reference circumference of HC18's table). Per image and
aggregated (mean, standard deviation, median, worst). Used by ``morphogen medical evaluate``, the demo and the
benchmarks.

Matching: every prediction must have a reference (an unmatched prediction is an error naming it); references
without a prediction are counted in the report, never matched by position.
"""
from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Mapping

import numpy as np

from morphogen.medical.data.images import IMAGE_SUFFIXES, image_stem, image_suffix
from morphogen.medical.errors import MedicalDataError

#: label-file name patterns tried for a prediction id (in this order), in a folder of labels
LABEL_PATTERNS = ("{id}_Annotation", "{id}_gt", "{id}_mask", "{id}_label", "{id}_seg", "{id}")


def _stats(values: list[float], key: str) -> dict[str, float]:
    """mean, std, median and worst of the finite values; ``{key}_nonfinite`` counts the others (an HD95 of inf:
    a mask predicted empty, or a reference that is) -- they are reported, not averaged away."""
    allv = [x for x in values if x is not None]
    v = np.asarray([x for x in allv if math.isfinite(x)], dtype=np.float64)
    out = {f"{key}_nonfinite": len(allv) - int(v.size)}
    if v.size == 0:
        return {f"{key}_mean": float("nan"), **out}
    return {f"{key}_mean": float(v.mean()), f"{key}_std": float(v.std()), f"{key}_median": float(np.median(v)),
            f"{key}_worst": float(v.min() if key in ("dice", "iou") else v.max()), **out}


def evaluate_masks(items: Mapping[str, tuple], fit_truth_hc: bool = False) -> dict:
    """Score ``id -> (pred (H, W) bool, truth (H, W) bool, spacing (row, col) mm or None, reference HC mm or None)``.

    HC is scored where a reference HC is given (HC18's table: ``hc_abs_error_mm``, the challenge's protocol), or
    (``fit_truth_hc``) against the ellipse fitted to the reference mask. Both are reported where a table is given:
    ``hc_abs_error_vs_mask_mm`` compares the same ellipse fit on both masks, free of the offset between HC18's
    drawn outlines and its tabulated circumference (the fit of a perfect mask is about 1.3 mm above the table).
    Returns ``{"per_image": [...], "summary": {...}}``."""
    from morphogen.medical.metrics.circumference import head_circumference
    from morphogen.medical.metrics.distance import hd95
    from morphogen.medical.metrics.overlap import dice, iou

    rows = []
    units = set()
    for key, (pred, truth, spacing, ref_hc) in items.items():
        pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
        if pred.shape != truth.shape:
            raise MedicalDataError(f"{key}: predicted mask {pred.shape[1]}x{pred.shape[0]} and reference "
                                   f"{truth.shape[1]}x{truth.shape[0]} (WxH) differ in size")
        row = {"id": key, "dice": float(dice(pred, truth)), "iou": float(iou(pred, truth)),
               "hd95": float(hd95(pred, truth, spacing)), "hd95_unit": "mm" if spacing else "px"}
        units.add(row["hd95_unit"])
        if spacing is not None and abs(spacing[0] - spacing[1]) < 1e-9 * max(spacing):
            px = float(spacing[0])
            fitted = head_circumference(truth, px) if (ref_hc is not None or fit_truth_hc) else None
            ref = ref_hc if ref_hc is not None else fitted
            if ref is not None:
                pred_hc = head_circumference(pred, px) if pred.any() else float("nan")
                row.update(hc_mm=pred_hc, hc_reference_mm=float(ref), hc_error_mm=pred_hc - float(ref),
                           hc_abs_error_mm=abs(pred_hc - float(ref)), hc_reference_mask_mm=fitted,
                           hc_abs_error_vs_mask_mm=abs(pred_hc - fitted))
        rows.append(row)
    summary: dict = {"n": len(rows)}
    for key in ("dice", "iou", "hd95"):
        summary.update(_stats([r[key] for r in rows], key))
    summary["hd95_unit"] = "/".join(sorted(units)) if units else None
    hc = [r for r in rows if "hc_error_mm" in r]
    if hc:
        summary.update(_stats([r["hc_abs_error_mm"] for r in hc], "hc_abs_error_mm"))
        summary.update(_stats([r["hc_abs_error_vs_mask_mm"] for r in hc], "hc_abs_error_vs_mask_mm"))
        summary["hc_error_mm_mean"] = float(np.nanmean([r["hc_error_mm"] for r in hc]))
        summary["hc_n"] = len(hc)
    return {"per_image": rows, "summary": summary}


def read_predictions(folder: str | os.PathLike) -> dict[str, tuple[Path, tuple[float, float] | None]]:
    """id -> (mask file, spacing from the run's index or None) of a ``segment`` output folder."""
    d = Path(folder)
    index = d / "index.csv"
    if not d.is_dir():
        raise MedicalDataError(f"{d}: no such folder")
    out: dict[str, tuple[Path, tuple[float, float] | None]] = {}
    if index.is_file():
        with open(index, newline="", encoding="utf-8-sig") as fh:
            for line, rec in enumerate(csv.DictReader(fh), start=2):
                try:
                    sp = None
                    if rec.get("spacing_row_mm"):
                        sp = (float(rec["spacing_row_mm"]), float(rec["spacing_col_mm"]))
                    out[rec["id"]] = (d / rec["mask"], sp)
                except (KeyError, ValueError, TypeError):
                    raise MedicalDataError(f"{index}, line {line}: not a row of a segmentation index") from None
    else:
        for p in sorted(d.glob("*_mask.png")):
            out[p.name[: -len("_mask.png")]] = (p, None)
    if not out:
        raise MedicalDataError(f"{d}: no predicted masks (neither index.csv nor *_mask.png)")
    for key, (p, _) in out.items():
        if not p.is_file():
            raise MedicalDataError(f"{index}: lists {p.name} for '{key}', which is missing")
    return out


def read_references(labels: str | os.PathLike) -> dict[str, dict]:
    """id -> {"mask": file, "label": value or None, "fill": bool, "spacing": (mm, mm) or None, "hc_mm": float or
    None} from an HC18 folder, an HC18 table (.csv) or a plain folder of label files."""
    p = Path(labels)
    from morphogen.medical.data.hc18 import read_hc18

    if p.is_file() and p.suffix.lower() == ".csv":
        root = p.parent.parent if p.parent.name == "training_set" else p.parent
        if (root / "training_set").is_dir() and (root / p.name).is_file():
            recs = read_hc18(root, "train")
        else:
            raise MedicalDataError(f"{p}: an HC18 table must lie beside its training_set/ folder")
        return {r.id: {"mask": r.mask, "label": None, "fill": True, "spacing": r.spacing, "hc_mm": r.hc_mm}
                for r in recs}
    if p.is_dir() and (p / "training_set_pixel_size_and_HC.csv").is_file():
        recs = read_hc18(p, "train")
        return {r.id: {"mask": r.mask, "label": None, "fill": True, "spacing": r.spacing, "hc_mm": r.hc_mm}
                for r in recs}
    if p.is_dir() and p.name == "training_set" and (p.parent / "training_set_pixel_size_and_HC.csv").is_file():
        return read_references(p.parent)
    if not p.is_dir():
        raise MedicalDataError(f"{p}: no such folder or HC18 table")
    out: dict[str, dict] = {}
    for q in sorted(p.iterdir()):
        if q.is_file() and image_suffix(q) and not q.name.lower().endswith(".raw"):
            out[image_stem(q)] = {"mask": q, "label": None, "fill": False, "spacing": None, "hc_mm": None}
    if not out:
        raise MedicalDataError(f"{p}: no label files (formats: {', '.join(IMAGE_SUFFIXES)})")
    return out


def match(predictions: Mapping[str, tuple], references: Mapping[str, dict], labels: Path) -> dict[str, dict]:
    """prediction id -> its reference entry (trying :data:`LABEL_PATTERNS`); an unmatched prediction is an error."""
    found, missing = {}, []
    for key in predictions:
        ref = next((references[pat.format(id=key)] for pat in LABEL_PATTERNS if pat.format(id=key) in references),
                   None)
        if ref is None:
            missing.append(key)
        else:
            found[key] = ref
    if missing:
        raise MedicalDataError(f"{labels}: no reference for {len(missing)} of {len(predictions)} prediction(s), e.g. "
                               f"{missing[:3]}; predictions and references are matched by name, never by position")
    return found


def evaluate_folder(predictions: str | os.PathLike, labels: str | os.PathLike,
                    out: str | os.PathLike | None = None) -> dict:
    """Score a ``segment`` output folder against references; writes the JSON report (default
    ``PREDICTIONS/evaluation.json``) and returns it with its ``path``."""
    from morphogen.medical.data.images import load_array, load_mask
    from morphogen.utils.outputs import write_output as atomic_write

    preds = read_predictions(predictions)
    refs = read_references(labels)
    matched = match(preds, refs, Path(labels))
    items = {}
    for key, (mask_file, pred_spacing) in preds.items():
        ref = matched[key]
        truth = load_mask(ref["mask"], fill=ref["fill"], label=ref["label"])
        pred = load_array(mask_file)[0] > 127
        if pred.shape != truth.shape:
            raise MedicalDataError(f"{mask_file}: predicted mask {pred.shape[1]}x{pred.shape[0]} (WxH), but its "
                                   f"reference {ref['mask']} is {truth.shape[1]}x{truth.shape[0]}: they differ in "
                                   "size")
        spacing = ref["spacing"] or pred_spacing
        if spacing is None:
            spacing = load_array(ref["mask"])[1]
        items[key] = (pred, truth, spacing, ref["hc_mm"])
    report = evaluate_masks(items)
    used = {id(v) for v in matched.values()}
    report["summary"]["references_without_prediction"] = sum(1 for v in refs.values() if id(v) not in used)
    report["predictions"], report["labels"] = str(predictions), str(labels)
    path = Path(out) if out is not None else Path(predictions) / "evaluation.json"
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(report, indent=1) + "\n"))
    report["path"] = str(path)
    return report
