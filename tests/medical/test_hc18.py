"""The HC18 reader on a tiny folder in the challenge's layout (annotations drawn as ellipse outlines, as HC18 ships
them), the split by subject, and the real data when it is there."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("monai")
from PIL import Image, ImageDraw  # noqa: E402

from morphogen.medical.data.hc18 import read_hc18, subject_of  # noqa: E402
from morphogen.medical.data.preprocess import prepare  # noqa: E402
from morphogen.medical.data.records import SegmentationRecord  # noqa: E402
from morphogen.medical.data.splits import split_by_subject  # noqa: E402
from morphogen.medical.errors import MedicalDataError  # noqa: E402

W, H = 160, 108  # HC18's 800 x 540, a fifth
#: name -> (ellipse bounding box (x0, y0, x1, y1), pixel size mm, head circumference mm)
SUBJECTS = {"000_HC.png": ((30, 20, 110, 80), 0.07, 44.3), "001_HC.png": ((40, 10, 120, 96), 0.09, 56.81),
            "001_2HC.png": ((20, 30, 90, 70), 0.08, 50.0), "002_HC.png": ((50, 20, 130, 90), 0.1, 61.2)}
HEADER = "filename,pixel size(mm),head circumference (mm)"


def write_image(path: Path, seed: int, size=(W, H)):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0])).astype(np.uint8)).save(path)


def write_outline(path: Path, box, size=(W, H)):
    im = Image.new("L", size, 0)
    ImageDraw.Draw(im).ellipse(box, outline=255, width=2)
    im.save(path)


def write_hc18(root: Path, bom: bool = False, rows: dict | None = None) -> Path:
    folder = root / "training_set"
    folder.mkdir(parents=True)
    rows = SUBJECTS if rows is None else rows
    for i, (name, (box, _, _)) in enumerate(rows.items()):
        write_image(folder / name, i)
        write_outline(folder / name.replace(".png", "_Annotation.png"), box)
    lines = [HEADER] + [f"{n},{px},{hc}" for n, (_, px, hc) in rows.items()]
    (root / "training_set_pixel_size_and_HC.csv").write_text("\n".join(lines) + "\n",
                                                            encoding="utf-8-sig" if bom else "utf-8")
    return root


@pytest.fixture
def hc18(tmp_path):
    return write_hc18(tmp_path / "hc18")


def test_records_and_subjects(hc18):
    recs = read_hc18(hc18)
    assert [r.id for r in recs] == ["000_HC", "001_2HC", "001_HC", "002_HC"]
    assert [r.subject for r in recs] == ["000", "001", "001", "002"]
    assert subject_of("010_2HC") == "010" and subject_of("odd_name") == "odd_name"
    r = recs[2]
    assert r.spacing == (0.09, 0.09) and r.hc_mm == pytest.approx(56.81) and r.fill and r.label is None
    assert r.mask.name == "001_HC_Annotation.png" and r.labelled


def test_outlines_are_filled(hc18):
    for r in read_hc18(hc18):
        s = r.load()
        (x0, y0, x1, y1), px, _ = SUBJECTS[r.image.name]
        a, b = (x1 - x0 + 1) / 2, (y1 - y0 + 1) / 2
        assert s.image.shape == s.mask.shape == (H, W) and s.spacing == (px, px)
        assert abs(s.mask.sum() / (math.pi * a * b) - 1) < 0.03, r.id
        rows, cols = np.nonzero(s.mask)
        assert rows.min() == y0 and rows.max() == y1 and cols.min() == x0 and cols.max() == x1
        assert s.mask[(y0 + y1) // 2, (x0 + x1) // 2]  # the inside, not only the outline
        assert not s.mask[0, 0] and not s.mask[y0 - 1, (x0 + x1) // 2]


def test_table_with_a_bom(tmp_path):
    recs = read_hc18(write_hc18(tmp_path / "bom", bom=True))
    assert len(recs) == 4 and recs[0].spacing == (0.07, 0.07)


def test_split_by_subject_keeps_subjects_together_and_is_seeded(hc18):
    recs = read_hc18(hc18)
    for seed in range(6):
        parts = split_by_subject(recs, val=0.25, test=0.25, seed=seed)
        assert sorted(r.id for p in parts.values() for r in p) == sorted(r.id for r in recs)
        where = {r.subject: {k for k, p in parts.items() if any(q.subject == r.subject for q in p)} for r in recs}
        assert all(len(v) == 1 for v in where.values())
    many = [SegmentationRecord(id=f"{s:03d}_{k}HC", subject=f"{s:03d}", image=Path(f"{s:03d}_{k}HC.png"))
            for s in range(40) for k in ("", "2")]
    one = split_by_subject(many, 0.1, 0.15, seed=3)
    assert {k: [r.id for r in v] for k, v in one.items()} == \
           {k: [r.id for r in v] for k, v in split_by_subject(many, 0.1, 0.15, seed=3).items()}
    assert [len({r.subject for r in one[k]}) for k in ("train", "val", "test")] == [30, 4, 6]
    other = split_by_subject(many, 0.1, 0.15, seed=4)
    assert {r.subject for r in other["test"]} != {r.subject for r in one["test"]}
    for parts in (one, other):
        subjects = [{r.subject for r in parts[k]} for k in ("train", "val", "test")]
        assert not (subjects[0] & subjects[1] or subjects[0] & subjects[2] or subjects[1] & subjects[2])


def test_errors(hc18, tmp_path):
    folder, table = hc18 / "training_set", hc18 / "training_set_pixel_size_and_HC.csv"
    (folder / "002_HC_Annotation.png").unlink()
    with pytest.raises(MedicalDataError, match=r"002_HC.png: its annotation 002_HC_Annotation.png is missing"):
        read_hc18(hc18)
    write_outline(folder / "002_HC_Annotation.png", SUBJECTS["002_HC.png"][0])

    write_image(folder / "009_HC.png", 9)
    with pytest.raises(MedicalDataError, match=r"training_set_pixel_size_and_HC.csv: does not list 1 image\(s\) of "
                                               r".*'009_HC.png'"):
        read_hc18(hc18)
    (folder / "009_HC.png").unlink()

    good = table.read_text()
    table.write_text(good.replace("0.09,56.81", "0.09,fifty-six"))
    with pytest.raises(MedicalDataError, match=r"training_set_pixel_size_and_HC.csv, line 3: cannot read the numbers"):
        read_hc18(hc18)
    table.write_text(good.replace("0.1,61.2", "-0.1,61.2"))
    with pytest.raises(MedicalDataError, match=r"csv, line 5: pixel size must be positive"):
        read_hc18(hc18)
    table.write_text(good + "003_HC.png,0.1,40.0\n")
    with pytest.raises(MedicalDataError, match=r"csv: lists 003_HC.png, which is not in .*training_set"):
        read_hc18(hc18)
    table.write_text(good)

    Image.new("L", (W, H), 0).save(folder / "000_HC_Annotation.png")
    with pytest.raises(MedicalDataError, match=r"000_HC_Annotation.png: empty annotation"):
        read_hc18(hc18)[0].load()
    write_outline(folder / "001_HC_Annotation.png", (10, 10, 50, 40), size=(W // 2, H // 2))
    with pytest.raises(MedicalDataError, match=r"001_HC_Annotation.png: mask of size 80x54 \(WxH\) does not match "
                                               r"its image .*001_HC.png of size 160x108"):
        read_hc18(hc18)[2].load()

    with pytest.raises(MedicalDataError, match=r"no HC18 folder training_set/"):
        read_hc18(tmp_path / "nothing")
    with pytest.raises(ValueError, match="HC18 split"):
        read_hc18(hc18, "validation")


def test_test_split_is_unlabelled_and_cannot_be_prepared(tmp_path):
    root = tmp_path / "hc18"
    (root / "test_set").mkdir(parents=True)
    write_image(root / "test_set" / "005_HC.png", 5)
    (root / "test_set_pixel_size.csv").write_text("filename,pixel size(mm)\n005_HC.png,0.12\n")
    (rec,) = read_hc18(root, "test")
    assert rec.mask is None and not rec.labelled and rec.hc_mm is None and rec.load().mask is None
    with pytest.raises(MedicalDataError, match=r"1 record\(s\) without a mask cannot be prepared.*005_HC"):
        prepare([rec], (32, 48), cache=False)


def test_prepare_hc18(hc18):
    data = prepare(read_hc18(hc18), (32, 48), cache=False)
    assert tuple(data.images.shape) == (4, 1, 32, 48) and data.masks.dtype.is_floating_point is False
    frac = data.masks.flatten(1).float().mean(1)
    want = [math.pi * (b[2] - b[0] + 1) * (b[3] - b[1] + 1) / 4 / (W * H) for b, _, _ in
            (SUBJECTS[n + ".png"] for n in data.ids)]
    assert np.allclose(frac.numpy(), want, atol=0.03)


def test_real_hc18(shared_data):
    """The 800 training images of HC18 in ../shared/data/medical/hc18: under CI=true a missing folder fails."""
    root = shared_data / "medical" / "hc18"
    if not root.is_dir():
        msg = f"real HC18 data not found at {root}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    recs = read_hc18(root)
    assert len(recs) == 800 and len({r.subject for r in recs}) < 800
    for r in (recs[0], next(r for r in recs if "_2HC" in r.id)):
        s = r.load()
        assert s.image.ndim == 2 and s.mask.shape == s.image.shape and s.mask.mean() > 0.05
        assert s.spacing == r.spacing and 0 < s.spacing[0] < 1
