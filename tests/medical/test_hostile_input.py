"""Hostile input (issue 15) for `morphogen medical ...`: every bad input is refused by the real command line with
one line naming the culprit (file, record or option), exit code 2 and no traceback, before any sampling or
training; a refused run writes no output.

The cases run in this process through the real entry point (``morphogen.cli.main.main`` with the case's argv:
the same parsing, error printing and exit codes as the installed command, without paying the torch and MONAI
imports once per case); each is then checked by its own test. An exception that escapes ``main`` (a traceback a
user would see) fails its case."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.cli_runs import assert_refused, run_sweep

# one xdist worker runs the whole sweep (its module fixture runs the cases once, not once per worker)
pytestmark = pytest.mark.xdist_group("medical_hostile")

SEG = ["segment", "--checkpoint", "{t}/tiny.safetensors", "--images", "{t}/good", "--steps", "1", "--out", "{t}/out"]


def seg(images: str, *extra: str) -> list[str]:
    return SEG[:4] + [images] + SEG[5:] + list(extra)


def seg_ckpt(ckpt: str) -> list[str]:
    return SEG[:2] + [ckpt] + SEG[3:]


EVAL = ["evaluate", "--predictions", "{t}/pred", "--labels", "{t}/labels", "--out", "{t}/out/e.json"]
TRAIN = ["train", "--preset", "hc18", "--data", "{t}/hc18", "--max-steps", "1", "--out", "{t}/out"]

CASES: list[tuple[str, list[str], str]] = [
    # counts and options
    ("steps-0", seg("{t}/good") + ["--steps", "0"], "--steps"),
    ("steps-negative", seg("{t}/good") + ["--steps", "-2"], "--steps"),
    ("ensemble-0", seg("{t}/good", "--ensemble", "0"), "--ensemble"),
    ("ensemble-too-many", seg("{t}/good", "--ensemble", "1000"), "--ensemble"),
    ("batch-size-0", seg("{t}/good", "--batch-size", "0"), "--batch-size"),
    ("fusion-unknown", seg("{t}/good", "--fusion", "vote"), "--fusion"),
    ("sampler-unknown", seg("{t}/good", "--sampler", "teleport"), "--sampler"),
    ("sampler-incompatible", seg("{t}/good", "--sampler", "unmask"), "--sampler"),
    # checkpoints
    ("checkpoint-missing", seg_ckpt("{t}/nope.safetensors"), "nope.safetensors"),
    ("checkpoint-binary", seg_ckpt("{t}/binary.safetensors"), "binary.safetensors"),
    ("checkpoint-empty", seg_ckpt("{t}/empty.safetensors"), "empty.safetensors"),
    ("checkpoint-other-domain", seg_ckpt("{other}"), "not a medical model"),
    # images
    ("images-missing", seg("{t}/missing.png"), "missing.png"),
    ("images-empty-folder", seg("{t}/emptydir"), "emptydir"),
    ("images-not-an-image", seg("{t}/notes.txt"), "notes.txt"),
    ("images-empty-png", seg("{t}/empty.png"), "empty.png"),
    ("images-binary-png", seg("{t}/binary.png"), "binary.png"),
    ("images-text-as-png", seg("{t}/text.png"), "text.png"),
    ("images-truncated-png", seg("{t}/truncated.png"), "truncated.png"),
    ("images-huge-png", seg("{t}/huge.png"), "huge.png"),
    ("images-nan-nifti", seg("{t}/nan.nii.gz"), "nan.nii.gz"),
    ("images-volume-nifti", seg("{t}/volume.nii.gz"), "volume.nii.gz"),
    ("images-mhd-without-raw", seg("{t}/noraw.mhd"), "noraw"),
    ("images-mhd-short-raw", seg("{t}/short.mhd"), "short.mhd"),
    ("images-duplicate-names", seg("{t}/dupes"), "a."),
    ("images-bad-file-in-folder", seg("{t}/mixed"), "broken.png"),
    ("out-is-a-file", SEG[:-1] + ["{t}/notes.txt"], "--out"),
    # evaluate
    ("evaluate-predictions-missing", ["evaluate", "--predictions", "{t}/nopred", "--labels", "{t}/labels"], "nopred"),
    ("evaluate-labels-missing", EVAL[:4] + ["{t}/nolabels"] + EVAL[5:], "nolabels"),
    ("evaluate-unmatched", EVAL[:4] + ["{t}/otherlabels"] + EVAL[5:], "no reference"),
    ("evaluate-size-mismatch", EVAL[:4] + ["{t}/smalllabels"] + EVAL[5:], "smalllabels/p0_mask.png is 40x30"),
    ("evaluate-empty-label", EVAL[:4] + ["{t}/emptylabels"] + EVAL[5:], "empty annotation"),
    ("evaluate-index-missing-mask", ["evaluate", "--predictions", "{t}/brokenpred", "--labels", "{t}/labels"],
     "p0_mask.png"),
    # train
    ("train-preset-unknown", ["train", "--preset", "hc99", "--out", "{t}/out"], "hc99"),
    ("train-variant-unknown", TRAIN + ["--variant", "poisson"], "--variant"),
    ("train-limit-0", TRAIN + ["--limit", "0"], "--limit"),
    ("train-data-missing", ["train", "--preset", "hc18", "--data", "{t}/nohc18", "--out", "{t}/out"], "nohc18"),
    ("train-missing-annotation", TRAIN[:4] + ["{t}/hc18_noann"] + TRAIN[5:], "001_HC_Annotation.png"),
    ("train-unlisted-image", TRAIN[:4] + ["{t}/hc18_unlisted"] + TRAIN[5:], "does not list"),
    ("train-bad-csv-number", TRAIN[:4] + ["{t}/hc18_badcsv"] + TRAIN[5:], "line 3"),
    ("train-mask-size-mismatch", TRAIN[:4] + ["{t}/hc18_size"] + TRAIN[5:], "does not match"),
    ("train-out-is-a-file", TRAIN[:-1] + ["{t}/notes.txt"], "notes.txt: exists and is not a folder"),
]


def _png(path: Path, array: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(array.astype(np.uint8)).save(path)


def _hc18(root: Path, n: int = 3, size=(54, 80)) -> None:
    from PIL import Image, ImageDraw

    ts = root / "training_set"
    ts.mkdir(parents=True)
    rows = ["filename,pixel size(mm),head circumference (mm)"]
    rng = np.random.default_rng(0)
    for i in range(n):
        _png(ts / f"{i:03d}_HC.png", rng.integers(0, 255, size))
        ann = Image.new("L", (size[1], size[0]))
        ImageDraw.Draw(ann).ellipse([20, 10, 60, 44], outline=255, width=2)
        ann.save(ts / f"{i:03d}_HC_Annotation.png")
        rows.append(f"{i:03d}_HC.png,0.1,{40 + i}")
    (root / "training_set_pixel_size_and_HC.csv").write_text("\n".join(rows) + "\n")


def _write_inputs(t: Path) -> None:
    import nibabel as nib

    from morphogen.medical.data.metaimage import write_metaimage
    from tests.medical.test_medical_cli import tiny_model

    tiny_model().save(t / "tiny.safetensors")
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (54, 80))
    for d in ("good", "emptydir", "dupes", "mixed", "labels", "otherlabels", "smalllabels", "emptylabels"):
        (t / d).mkdir()
    _png(t / "good" / "p0.png", img)
    _png(t / "dupes" / "a.png", img)
    nib.save(nib.Nifti1Image(img.T.astype(np.float32), np.eye(4)), t / "dupes" / "a.nii.gz")
    _png(t / "mixed" / "fine.png", img)
    (t / "mixed" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    (t / "notes.txt").write_text("an ultrasound, honestly\n")
    (t / "empty.png").write_bytes(b"")
    noise = bytes((i * 97 + 13) % 256 for i in range(3000))
    (t / "binary.png").write_bytes(noise)
    (t / "binary.safetensors").write_bytes(noise)
    (t / "empty.safetensors").write_bytes(b"")
    (t / "text.png").write_text("P3 2 2 255\n")
    good = t / "good" / "p0.png"
    (t / "truncated.png").write_bytes(good.read_bytes()[:120])
    from PIL import Image

    Image.new("L", (9000, 8000)).save(t / "huge.png")
    bad = img.astype(np.float32)
    bad[3, 4] = np.nan
    nib.save(nib.Nifti1Image(bad.T, np.eye(4)), t / "nan.nii.gz")
    nib.save(nib.Nifti1Image(np.zeros((20, 30, 4), np.float32), np.eye(4)), t / "volume.nii.gz")
    write_metaimage(t / "noraw.mhd", img.astype(np.uint8))
    (t / "noraw.raw").unlink()
    write_metaimage(t / "short.mhd", img.astype(np.uint8))
    (t / "short.raw").write_bytes((t / "short.raw").read_bytes()[:100])
    # predictions (a tiny `segment` output) and references
    pred = t / "pred"
    pred.mkdir()
    mask = np.zeros((54, 80), np.uint8)
    mask[10:40, 20:60] = 255
    _png(pred / "p0_mask.png", mask)
    (pred / "index.csv").write_text("id,image,mask,overlay,uncertainty,height,width,foreground_fraction,"
                                    "mean_uncertainty,spacing_row_mm,spacing_col_mm,nfe\np0,x,p0_mask.png,,,54,80,0.2,,,,1\n")
    broken = t / "brokenpred"
    broken.mkdir()
    (broken / "index.csv").write_text((pred / "index.csv").read_text())
    _png(t / "labels" / "p0_mask.png", mask)
    _png(t / "otherlabels" / "q7_mask.png", mask)
    _png(t / "smalllabels" / "p0_mask.png", mask[:30, :40])
    _png(t / "emptylabels" / "p0_mask.png", np.zeros_like(mask))
    # HC18 folders, each broken one way
    for name in ("hc18", "hc18_noann", "hc18_unlisted", "hc18_badcsv", "hc18_size"):
        _hc18(t / name)
    (t / "hc18_noann" / "training_set" / "001_HC_Annotation.png").unlink()
    _png(t / "hc18_unlisted" / "training_set" / "007_HC.png", img)
    csv = t / "hc18_badcsv" / "training_set_pixel_size_and_HC.csv"
    lines = csv.read_text().splitlines()
    lines[2] = "001_HC.png,zero point one,41"
    csv.write_text("\n".join(lines) + "\n")
    small = np.zeros((50, 70))
    small[10:30, 20:50] = 255
    _png(t / "hc18_size" / "training_set" / "002_HC_Annotation.png", small)


def _other_domain_model() -> str | None:
    from morphogen.bundle import shipped_models

    others = [p for k, p in sorted(shipped_models().items()) if not k.startswith("medical/")]
    return str(others[0]) if others else None


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    t = tmp_path_factory.mktemp("hostile")
    _write_inputs(t)
    return t, run_sweep("medical", CASES, t, _other_domain_model())


def test_the_sweep_is_large_enough():
    assert len(CASES) >= 25 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("cid,args,culprit", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_in_one_line(results, cid, args, culprit):
    t, done = results
    assert cid in done, "no model of another domain is installed (the tests install every domain)"
    assert_refused(done[cid], culprit, t / f"out-{cid}")
