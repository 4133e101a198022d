"""Segmenting image files with a trained model: read, resize, sample (one or an ensemble of masks per image), fuse,
resize back, clean up, write. Used by ``morphogen medical segment``; a notebook calls the same functions.

Ensembles: each member is an independent sample of the diffusion (its own prior noise). Members are thresholded
at the image's size and fused by STAPLE (:func:`morphogen.medical.ensemble.staple`: each member is weighed by its
estimated sensitivity and specificity); the uncertainty map is the members' per-pixel disagreement
(:func:`morphogen.medical.ensemble.uncertainty`). With one member the mask is that member's.
"""
from __future__ import annotations

import csv
import io as _io
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from morphogen.medical.data.images import IMAGE_SUFFIXES, image_stem, image_suffix
from morphogen.medical.errors import MedicalDataError

#: file names that are labels, not images, when a folder is given (HC18, CAMUS, ours): skipped and counted
LABEL_MARKERS = ("_annotation", "_gt", "_mask", "_overlay", "_uncertainty", "_seg", "_label")
FUSIONS = ("staple", "mean")


@dataclass
class InputList:
    """The images a ``--images`` argument names, and the label-like files of a folder that were left out."""

    images: list[Path]
    skipped_labels: list[Path]


def find_images(path: str | os.PathLike) -> InputList:
    """A file, or every image file of a folder (sorted; not recursive). In a folder, files whose stem ends in a
    label marker (:data:`LABEL_MARKERS`, e.g. HC18's ``_Annotation``) are skipped and listed, not silently dropped;
    two inputs with one stem (``a.png``, ``a.nii.gz``) are an error, as their outputs would collide."""
    p = Path(path)
    if p.is_file():
        if not image_suffix(p):
            raise MedicalDataError(f"{p}: not an image file we read (formats: {', '.join(IMAGE_SUFFIXES)})")
        return InputList([p], [])
    if not p.is_dir():
        raise MedicalDataError(f"{p}: no such file or folder")
    imgs, labels = [], []
    for q in sorted(p.iterdir()):
        if not q.is_file() or not image_suffix(q) or q.name.lower().endswith(".raw"):
            continue
        (labels if image_stem(q).lower().endswith(LABEL_MARKERS) else imgs).append(q)
    if not imgs:
        raise MedicalDataError(f"{p}: no image files here (formats: {', '.join(IMAGE_SUFFIXES)})")
    stems: dict[str, Path] = {}
    for q in imgs:
        s = image_stem(q)
        if s in stems:
            raise MedicalDataError(f"{q}: has the same name as {stems[s].name}; their outputs would collide")
        stems[s] = q
    return InputList(imgs, labels)


@dataclass
class SegmentedImage:
    """One image's result at its own size: mask (H, W) bool, probability (H, W) (the members' mean), uncertainty
    (H, W) in [0, 1] or None (one member), the image itself (H, W), its spacing (mm) if known, and the network
    evaluations spent on it (steps x members)."""

    id: str
    path: Path
    image: np.ndarray
    mask: np.ndarray
    probability: np.ndarray
    uncertainty: np.ndarray | None
    spacing: tuple[float, float] | None
    nfe: int


def fuse_members(members: np.ndarray, threshold: float = 0.5, fusion: str = "staple"
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, H, W) member probabilities -> (mask (H, W) bool, uncertainty (H, W) or None for N = 1).

    ``fusion``: "staple" (STAPLE of the thresholded members) or "mean" (threshold the mean probability)."""
    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {FUSIONS}, got '{fusion}'")
    votes = members >= threshold
    if votes.shape[0] == 1:
        return votes[0], None
    from morphogen.medical.ensemble import staple, uncertainty

    if fusion == "staple":
        mask = staple(votes).probability >= 0.5
    else:
        mask = members.mean(0) >= threshold
    return np.asarray(mask, bool), np.asarray(uncertainty(votes), np.float32)


def segment_arrays(model, images: Sequence[np.ndarray], *, steps: int | None = None, sampler: str | None = None,
                   ensemble: int = 1, fusion: str = "staple", generator: torch.Generator | None = None
                   ) -> list[dict]:
    """Segment in-memory images (each (H, W), any size and range) in one batch. Returns per image a dict with
    ``mask``, ``probability``, ``uncertainty``, ``members`` (N, H, W) and ``nfe``."""
    from morphogen.medical.data.preprocess import normalize, resize_image, to_original_size
    from morphogen.medical.postprocess import apply

    x = normalize(torch.stack([resize_image(im, model.image_size) for im in images]))
    seg = model.segment(x, steps=steps, sampler=sampler, ensemble=ensemble, generator=generator)
    out = []
    for i, im in enumerate(images):
        members = to_original_size(seg.members[i], im.shape).numpy()
        mask, unc = fuse_members(members, model.threshold, fusion)
        out.append({"mask": apply(mask, model.postprocess), "probability": members.mean(0), "uncertainty": unc,
                    "members": members, "nfe": seg.nfe * seg.ensemble})
    return out


def images_per_call(batch_size: int, ensemble: int) -> int:
    """Images per network call when ``batch_size`` counts network samples (images x ``ensemble`` members): an
    ensemble of 5 at batch 8 segments one image per call, which on a CPU ran twice as fast per network evaluation
    as 8 images x 5 members in one batch."""
    return max(1, int(batch_size) // max(1, int(ensemble)))


def segment_files(model, paths: Sequence[Path], *, steps: int | None = None, sampler: str | None = None,
                  ensemble: int = 1, batch_size: int = 8, fusion: str = "staple", seed: int = 0,
                  progress: bool = False) -> Iterator[SegmentedImage]:
    """Segment image files batch by batch (every file is read before any sampling, so a bad file stops the run
    before work is spent); yields one :class:`SegmentedImage` per file, in order. ``batch_size`` counts network
    samples per call (:func:`images_per_call`)."""
    from morphogen.medical.data.images import load_image

    loaded = [(p, *load_image(p)) for p in paths]
    gen = torch.Generator(device=model.device).manual_seed(int(seed))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(loaded), desc="segmenting", unit="image")
    try:
        per_call = images_per_call(batch_size, ensemble)
        for start in range(0, len(loaded), per_call):
            chunk = loaded[start:start + per_call]
            res = segment_arrays(model, [c[1] for c in chunk], steps=steps, sampler=sampler, ensemble=ensemble,
                                 fusion=fusion, generator=gen)
            for (p, img, spacing), r in zip(chunk, res):
                yield SegmentedImage(image_stem(p), p, img, r["mask"], r["probability"], r["uncertainty"], spacing,
                                     r["nfe"])
            if bar is not None:
                bar.update(len(chunk))
    finally:  # also when the consumer stops (a failed write): the bar ends its line before the error is printed
        if bar is not None:
            bar.close()


INDEX_COLUMNS = ("id", "image", "mask", "overlay", "uncertainty", "height", "width", "foreground_fraction",
                 "mean_uncertainty", "spacing_row_mm", "spacing_col_mm", "nfe")


def write_result(out_dir: Path, r: SegmentedImage) -> dict:
    """Write one image's pictures; returns its index row."""
    from morphogen.medical.io.pictures import write_mask, write_overlay, write_uncertainty

    mask_name, over_name = f"{r.id}_mask.png", f"{r.id}_overlay.png"
    write_mask(out_dir / mask_name, r.mask)
    write_overlay(out_dir / over_name, r.image, r.mask)
    unc_name = ""
    if r.uncertainty is not None:
        unc_name = f"{r.id}_uncertainty.png"
        write_uncertainty(out_dir / unc_name, r.uncertainty)
    h, w = r.mask.shape
    return {"id": r.id, "image": str(r.path), "mask": mask_name, "overlay": over_name, "uncertainty": unc_name,
            "height": h, "width": w, "foreground_fraction": round(float(r.mask.mean()), 6),
            "mean_uncertainty": "" if r.uncertainty is None else round(float(r.uncertainty.mean()), 6),
            "spacing_row_mm": "" if r.spacing is None else r.spacing[0],
            "spacing_col_mm": "" if r.spacing is None else r.spacing[1], "nfe": r.nfe}


INDEX_FILES = ("index.csv", "segmentation.json")  # written in this order, after every picture; removed first


def write_index(out_dir: Path, rows: list[dict], info: dict) -> Path:
    """``index.csv`` (one row per image), then ``segmentation.json`` (the run's settings and timing), after every
    picture and atomically: a folder with ``segmentation.json`` holds a complete run (and its index.csv)."""
    from morphogen.utils.outputs import atomic_json, atomic_text

    buf = _io.StringIO()
    wr = csv.DictWriter(buf, fieldnames=list(INDEX_COLUMNS), lineterminator="\n")
    wr.writeheader()
    wr.writerows(rows)
    index = atomic_text(out_dir / INDEX_FILES[0], buf.getvalue())
    atomic_json(out_dir / INDEX_FILES[1], info)
    return index


def run_segmentation(model, images: str | os.PathLike, out_dir: str | os.PathLike, *, steps: int | None = None,
                     sampler: str | None = None, ensemble: int = 1, batch_size: int = 8, fusion: str = "staple",
                     seed: int = 0, progress: bool = False, checkpoint: str | None = None) -> dict:
    """Segment ``images`` (a file or a folder) into ``out_dir``; returns the run's summary (also in
    ``segmentation.json``)."""
    inputs = find_images(images)
    from contextlib import closing

    from morphogen.utils.outputs import remove_stale

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # an index of an earlier run is removed first: until this run's index is written the folder holds no index
    remove_stale(out, *INDEX_FILES)
    smp = model.make_sampler(sampler, steps)
    t0 = time.perf_counter()
    with closing(segment_files(model, inputs.images, steps=steps, sampler=sampler, ensemble=ensemble,
                               batch_size=batch_size, fusion=fusion, seed=seed, progress=progress)) as results:
        rows = [write_result(out, r) for r in results]
    total = time.perf_counter() - t0
    info = {"checkpoint": checkpoint or (str(model.source) if model.source else None), "images": len(rows),
            "skipped_label_files": [str(p) for p in inputs.skipped_labels],
            "sampler": model.sampler_spec.with_options(sampler, steps).to_dict() if (sampler or steps)
            else model.sampler_spec.to_dict(),
            "steps": smp.steps, "ensemble": int(ensemble), "fusion": fusion if ensemble > 1 else None,
            "nfe_per_image": rows[0]["nfe"] if rows else 0, "postprocess": model.postprocess, "seed": int(seed),
            "image_size": list(model.image_size), "seconds": round(total, 3),
            "images_per_second": round(len(rows) / total, 4) if total > 0 else None}
    write_index(out, rows, info)
    return info
