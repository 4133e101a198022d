"""The CAMUS and EchoNet-Dynamic readers on tiny folders written in the real formats: what they read, and that every
input they cannot use raises MedicalDataError naming the file (and, for tables, the line)."""
from __future__ import annotations

import csv
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("monai")
cv2 = pytest.importorskip("cv2")
nib = pytest.importorskip("nibabel")

from morphogen.medical.data.camus import read_camus, read_info  # noqa: E402
from morphogen.medical.data.echonet import read_echonet  # noqa: E402
from morphogen.medical.data.metaimage import write_metaimage  # noqa: E402
from morphogen.medical.data.polygon import fill_polygon, polygon_area  # noqa: E402
from morphogen.medical.data.preprocess import prepare  # noqa: E402
from morphogen.medical.data.records import VideoFrameRecord  # noqa: E402
from morphogen.medical.errors import MedicalDataError  # noqa: E402

# ---------------------------------------------------------------------------------------------------------- CAMUS

H, W = 30, 20  # portrait, like CAMUS; not square, so that a transposed NIfTI would show


def label_map(phase: str, shift: int = 0) -> np.ndarray:
    """0 background, 1 LV cavity, 2 myocardium around it, 3 left atrium below; ES has the smaller cavity."""
    gt = np.zeros((H, W), np.uint8)
    gt[3:22, 3 + shift:17 + shift] = 2
    if phase == "ED":
        gt[5:20, 5 + shift:15 + shift] = 1
    else:
        gt[8:18, 7 + shift:13 + shift] = 1
    gt[23:28, 6 + shift:14 + shift] = 3
    return gt


def image_of(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (H, W)).astype(np.uint8)


INFO = "ED: 1\nES: 14\nNbFrame: 18\nSex: F\nAge: 57\nImageQuality: {q}\nLVedv: 90.5\nLVesv: 40.25\nLVef: 55.5\n"


def write_nifti(path: Path, arr: np.ndarray, spacing: tuple[float, float]):
    """NIfTI stores (x, y) = (column, row): the array is written transposed, the spacing as (x, y)."""
    affine = np.diag([spacing[1], spacing[0], 1.0, 1.0])
    nib.save(nib.Nifti1Image(np.ascontiguousarray(arr.T), affine), str(path))


def write_patient(folder: Path, name: str, fmt: str, spacing=(0.3, 0.15), seed=0, quality="Good", shift=0):
    d = folder / name
    d.mkdir(parents=True)
    for view in ("2CH", "4CH"):
        (d / f"Info_{view}.cfg").write_text(INFO.format(q=quality if view == "2CH" else "Poor"))
        for k, phase in enumerate(("ED", "ES")):
            stem = f"{name}_{view}_{phase}"
            img, gt = image_of(seed + k), label_map(phase, shift)
            if fmt == "mhd":  # CAMUS's 2019 files are 3D with one slice
                write_metaimage(d / f"{stem}.mhd", img[None], (1.54, *spacing))
                write_metaimage(d / f"{stem}_gt.mhd", gt[None], (1.54, *spacing))
            else:
                write_nifti(d / f"{stem}.nii.gz", img, spacing)
                write_nifti(d / f"{stem}_gt.nii.gz", gt, spacing)
    if fmt == "mhd":  # the whole sequence, never read
        (d / f"{name}_2CH_sequence.mhd").write_text("not read\n")
    else:
        (d / f"{name}_2CH_half_sequence.nii.gz").write_bytes(b"not read")
        (d / f"{name}_2CH_half_sequence_gt.nii.gz").write_bytes(b"not read")
    return d


@pytest.fixture
def camus(tmp_path):
    root = tmp_path / "camus"
    write_patient(root, "patient0001", "mhd", spacing=(0.3, 0.15), seed=1)
    write_patient(root, "patient0002", "nii", spacing=(0.25, 0.5), seed=5, quality="Medium", shift=2)
    return root


def test_camus_records_and_masks(camus):
    recs = read_camus(camus)
    assert [r.id for r in recs] == [f"patient000{p}_{v}_{ph}" for p in (1, 2) for v in ("2CH", "4CH")
                                    for ph in ("ED", "ES")]
    assert [r.subject for r in recs] == ["patient0001"] * 4 + ["patient0002"] * 4
    assert all(r.label == 1 and r.fill is False and r.spacing is None for r in recs)
    first, nii = recs[0], recs[5]
    assert first.extra == {"view": "2CH", "phase": "ED", "quality": "Good"}
    assert recs[2].extra["quality"] == "Poor" and nii.extra == {"view": "2CH", "phase": "ES", "quality": "Medium"}
    assert first.image.name == "patient0001_2CH_ED.mhd" and first.mask.name == "patient0001_2CH_ED_gt.mhd"
    assert nii.image.name == "patient0002_2CH_ES.nii.gz" and nii.mask.name == "patient0002_2CH_ES_gt.nii.gz"

    s = first.load()
    assert s.image.shape == (H, W) and s.spacing == pytest.approx((0.3, 0.15))
    assert np.array_equal(s.image, image_of(1).astype(np.float32))
    assert np.array_equal(s.mask, label_map("ED") == 1) and s.mask.sum() == 15 * 10
    s = nii.load()  # NIfTI: transposed back to (rows, columns)
    assert s.image.shape == (H, W) and s.spacing == pytest.approx((0.25, 0.5))
    assert np.array_equal(s.image, image_of(6).astype(np.float32))
    assert np.array_equal(s.mask, label_map("ES", shift=2) == 1) and s.mask.sum() == 10 * 6


def test_camus_subfolders_filters_and_labels(camus, tmp_path):
    for sub in ("training", "database_nifti"):
        parent = tmp_path / f"release_{sub}"
        shutil.copytree(camus, parent / sub)
        assert len(read_camus(parent)) == 8
    recs = read_camus(camus, views=["4CH"], phases=("es",), label=3)
    assert [r.id for r in recs] == ["patient0001_4CH_ES", "patient0002_4CH_ES"]
    assert np.array_equal(recs[0].load().mask, label_map("ES") == 3)
    myo = read_camus(camus, views="2CH", phases="ED", label=2)[0].load().mask
    assert np.array_equal(myo, label_map("ED") == 2)  # a ring, left as it is (fill=False)
    with pytest.raises(ValueError, match="views"):
        read_camus(camus, views=("3CH",))
    with pytest.raises(ValueError, match="label"):
        read_camus(camus, label=4)


def test_camus_errors(camus, tmp_path):
    p1 = camus / "patient0001"
    (p1 / "patient0001_4CH_ES_gt.raw").unlink()
    with pytest.raises(MedicalDataError, match=r"patient0001_4CH_ES_gt.mhd: its data file .*\.raw does not exist"):
        read_camus(camus)[3].load()

    (p1 / "patient0001_4CH_ES_gt.mhd").unlink()
    with pytest.raises(MedicalDataError, match=r"patient0001_4CH_ES.mhd: its ground truth patient0001_4CH_ES_gt is "
                                               r"missing"):
        read_camus(camus)
    assert len(read_camus(camus, views=("2CH",))) == 4  # only what is asked for must be complete

    p2 = camus / "patient0002"
    (p2 / "patient0002_2CH_ED.nii.gz").unlink()
    with pytest.raises(MedicalDataError, match=r"patient0002_2CH_ED_gt.nii.gz: a ground truth without its image"):
        read_camus(camus, views=("2CH",))
    (p2 / "patient0002_2CH_ED_gt.nii.gz").unlink()
    with pytest.raises(MedicalDataError, match=r"patient0002: no patient0002_2CH_ED image"):
        read_camus(camus, views=("2CH",))

    bad = write_patient(tmp_path / "b", "patient0003", "mhd")
    (bad / "Info_4CH.cfg").write_text("ED: 1\nES 14\n")
    with pytest.raises(MedicalDataError, match=r"Info_4CH.cfg, line 2: expected 'key: value', got 'ES 14'"):
        read_camus(tmp_path / "b")
    (bad / "Info_4CH.cfg").write_text("ED: 1\n\nNbFrame: eighteen\n")
    with pytest.raises(MedicalDataError, match=r"Info_4CH.cfg, line 3: NbFrame must be a number"):
        read_camus(tmp_path / "b")
    assert read_info(bad / "Info_2CH.cfg")["LVef"] == "55.5"

    shutil.copy(bad / "patient0003_2CH_ED.mhd", bad / "patient0003_2CH_ED.nii.gz")
    with pytest.raises(MedicalDataError, match=r"patient0003_2CH_ED.nii.gz: the same image as patient0003_2CH_ED.mhd"):
        read_camus(tmp_path / "b")

    empty = tmp_path / "empty"
    (empty / "training" / "notes").mkdir(parents=True)
    with pytest.raises(MedicalDataError, match=r"empty: no CAMUS patient folder"):
        read_camus(empty)
    with pytest.raises(MedicalDataError, match=r"nowhere: no such folder"):
        read_camus(tmp_path / "nowhere")


# -------------------------------------------------------------------------------------------------------- EchoNet

SIDE = 112
FOURCC = "FFV1"  # lossless in this OpenCV (FFmpeg backend): frames compare exactly; MJPG is checked approximately


def frame_value(i: int) -> int:
    return 10 + 25 * i


def write_video(path: Path, frames: int, fourcc: str = FOURCC):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 50, (SIDE, SIDE), True)
    assert w.isOpened(), f"OpenCV here cannot write {fourcc}"
    for i in range(frames):
        f = np.full((SIDE, SIDE, 3), frame_value(i), np.uint8)
        f[:, :, 0] = min(255, frame_value(i) + 6)  # B, G, R differ: grey is their mean
        f[:, :, 2] = max(0, frame_value(i) - 6)
        w.write(f)
    w.release()


def rectangle(x0: float, x1: float, y0: float, y1: float, chords: int = 20) -> list[tuple[float, ...]]:
    """Tracing rows of a rectangle: the long axis, then horizontal chords from its left to its right side."""
    mid = (x0 + x1) / 2
    return [(mid, y0, mid, y1)] + [(x0, y, x1, y) for y in np.linspace(y0, y1, chords)]


def diamond(cx: float, cy: float, r: float, chords: int = 21) -> list[tuple[float, ...]]:
    """Tracing rows of a diamond (|x - cx| + |y - cy| <= r), chords of width 2 (r - |y - cy|)."""
    ys = np.linspace(cy - r, cy + r, chords)
    return [(cx, cy - r, cx, cy + r)] + [(cx - (r - abs(y - cy)), y, cx + (r - abs(y - cy)), y) for y in ys]


BIG_RECT, SMALL_RECT = rectangle(40.5, 70.5, 20.5, 80.5), rectangle(45.5, 65.5, 30.5, 70.5)


def write_echonet(root: Path, videos=None, tracings=None, listed=None):
    """A tiny EchoNet-Dynamic folder. videos: name -> (frames, fourcc); tracings: (name, frame, rows) in file order;
    listed: FileList rows (name as written, frames, split)."""
    videos = videos or {"0XAAA.avi": (8, FOURCC), "0XBBB.avi": (7, FOURCC), "0XCCC.avi": (6, "MJPG")}
    tracings = tracings or [("0XAAA.avi", 2, SMALL_RECT), ("0XAAA.avi", 6, BIG_RECT),     # EchoNet's order: ES first
                            ("0XBBB.avi", 1, diamond(56, 55.5, 30)), ("0XBBB.avi", 5, diamond(50, 50.5, 18)),
                            ("0XCCC.avi", 0, BIG_RECT), ("0XCCC.avi", 3, SMALL_RECT)]
    listed = listed or [("0XAAA", 8, "TRAIN"), ("0XBBB.avi", 7, "train"), ("0XCCC", 6, "VAL")]
    (root / "Videos").mkdir(parents=True)
    for name, (n, fourcc) in videos.items():
        write_video(root / "Videos" / name, n, fourcc)
    with open(root / "FileList.csv", "w", newline="", encoding="utf-8-sig") as fh:  # with a BOM
        w = csv.writer(fh)
        w.writerow(["FileName", "EF", "ESV", "EDV", "FrameHeight", "FrameWidth", "FPS", "NumberOfFrames", "Split"])
        for name, n, split in listed:
            w.writerow([name, 60.0, 20.0, 50.0, SIDE, SIDE, 50, n, split])
    with open(root / "VolumeTracings.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["FileName", "X1", "Y1", "X2", "Y2", "Frame"])
        for name, frame, rows in tracings:
            for row in rows:
                w.writerow([name, *row, frame])
    return root


@pytest.fixture(scope="module")
def echonet(tmp_path_factory):
    return write_echonet(tmp_path_factory.mktemp("echonet") / "EchoNet-Dynamic")


def test_polygon_fill_and_area():
    rect = [(40.5, 20.5), (70.5, 20.5), (70.5, 80.5), (40.5, 80.5)]
    m = fill_polygon(rect, (SIDE, SIDE))
    want = np.zeros((SIDE, SIDE), bool)
    want[21:81, 41:71] = True
    assert np.array_equal(m, want) and polygon_area(rect) == 30 * 60
    whole = fill_polygon([(10, 10), (20, 10), (20, 30), (10, 30)], (40, 40))  # integer corners: exactly the area
    assert whole.sum() == 200 and whole[10, 10] and not whole[30, 20]
    cut = fill_polygon([(-5, -5), (5, -5), (5, 5), (-5, 5)], (8, 8))  # clipped at the frame
    assert cut.sum() == 25


def test_echonet_records_phases_and_masks(echonet):
    recs = read_echonet(echonet)
    assert [r.id for r in recs] == ["0XAAA_ED", "0XAAA_ES", "0XBBB_ED", "0XBBB_ES", "0XCCC_ED", "0XCCC_ES"]
    assert all(isinstance(r, VideoFrameRecord) and r.labelled and r.mask is None for r in recs)
    assert [r.subject for r in recs] == ["0XAAA.avi"] * 2 + ["0XBBB.avi"] * 2 + ["0XCCC.avi"] * 2
    # ED is the larger outline whatever the file order (AAA lists ES first, BBB lists ED first)
    assert [r.frame for r in recs] == [6, 2, 1, 5, 0, 3]
    assert [r.extra for r in recs[:2]] == [{"phase": "ED", "split": "TRAIN"}, {"phase": "ES", "split": "TRAIN"}]

    ed = recs[0].load()
    want = np.zeros((SIDE, SIDE), bool)
    want[21:81, 41:71] = True
    assert np.array_equal(ed.mask, want) and ed.spacing is None
    assert ed.image.shape == (SIDE, SIDE) and ed.image.dtype == np.float32
    assert np.array_equal(ed.image, np.full((SIDE, SIDE), frame_value(6), np.float32))  # FFV1 is lossless
    es = recs[1].load()
    assert es.mask.sum() == 20 * 40 and es.mask[31, 46] and not es.mask[30, 46]
    assert np.array_equal(es.image, np.full((SIDE, SIDE), frame_value(2), np.float32))

    dia = recs[2].load().mask
    area = polygon_area(recs[2].outline)
    assert area == pytest.approx(2 * 30 ** 2, rel=0.02)
    assert abs(int(dia.sum()) - area) < 0.03 * area
    rows, cols = np.nonzero(dia)
    assert abs(rows.mean() - 55.5) < 0.5 and abs(cols.mean() - 56) < 0.5
    assert dia[55, 56] and not dia[55, 87] and not dia[20, 56]

    mj = recs[4].load()  # MJPG: lossy; the mask is exact, the image close
    assert np.array_equal(mj.mask, want)
    assert np.abs(mj.image - frame_value(0)).mean() < 3


def test_echonet_split_and_phases(echonet):
    assert [r.id for r in read_echonet(echonet, split="train")] == ["0XAAA_ED", "0XAAA_ES", "0XBBB_ED", "0XBBB_ES"]
    assert [r.id for r in read_echonet(echonet, split="VAL", phases=("ES", "ED"))] == ["0XCCC_ES", "0XCCC_ED"]
    assert [r.frame for r in read_echonet(echonet, phases="ES")] == [2, 5, 3]
    with pytest.raises(MedicalDataError, match=r"FileList.csv: no video of split 'TEST' "
                                               r"\(splits: \['TRAIN', 'VAL'\]\)"):
        read_echonet(echonet, split="TEST")
    with pytest.raises(ValueError, match="phases"):
        read_echonet(echonet, phases=("ED", "MID"))


def _variant(tmp_path, name, **kw):
    return write_echonet(tmp_path / name, **kw)


ONE_VIDEO = {"0XAAA.avi": (8, FOURCC)}


def test_echonet_table_errors(tmp_path):
    root = _variant(tmp_path, "missing", listed=[("0XAAA", 8, "TRAIN"), ("0XBBB", 7, "TRAIN"),
                                                 ("0XCCC", 6, "VAL"), ("0XDDD", 5, "TEST")])
    with pytest.raises(MedicalDataError, match=r"FileList.csv, line 5: 0XDDD.avi is not in .*Videos"):
        read_echonet(root)
    assert len(read_echonet(root, split="val")) == 2  # only the chosen videos must be there

    root = _variant(tmp_path, "beyond", videos=ONE_VIDEO, listed=[("0XAAA", 8, "TRAIN")],
                    tracings=[("0XAAA.avi", 2, SMALL_RECT), ("0XAAA.avi", 8, BIG_RECT)])
    with pytest.raises(MedicalDataError, match=r"VolumeTracings.csv, line 23: frame 8 of 0XAAA.avi is traced, but the "
                                               r"video has 8 frames \(FileList.csv, line 2\)"):
        read_echonet(root)

    root = _variant(tmp_path, "one", videos={"0XAAA.avi": (8, FOURCC), "0XBBB.avi": (7, FOURCC)},
                    listed=[("0XAAA", 8, "TRAIN"), ("0XBBB", 7, "TRAIN")],
                    tracings=[("0XAAA.avi", 2, SMALL_RECT), ("0XAAA.avi", 6, BIG_RECT), ("0XBBB.avi", 3, BIG_RECT)])
    with pytest.raises(MedicalDataError, match=r"VolumeTracings.csv, line 44: 0XBBB.avi has 1 traced frame\(s\), 2"):
        read_echonet(root)
    with pytest.warns(UserWarning, match=r"1 video\(s\) with fewer than 2 traced frames left out.*0XBBB.avi"):
        assert [r.id for r in read_echonet(root, untraced="skip")] == ["0XAAA_ED", "0XAAA_ES"]

    root = _variant(tmp_path, "short", videos=ONE_VIDEO, listed=[("0XAAA", 8, "TRAIN")],
                    tracings=[("0XAAA.avi", 2, SMALL_RECT), ("0XAAA.avi", 6, BIG_RECT[:2])])
    with pytest.raises(MedicalDataError, match=r"VolumeTracings.csv, line 23: the tracing of frame 6 of 0XAAA.avi has "
                                               r"2 row\(s\); a polygon needs at least 3"):
        read_echonet(root)

    root = _variant(tmp_path, "nan", videos=ONE_VIDEO, listed=[("0XAAA", 8, "TRAIN")],
                    tracings=[("0XAAA.avi", 2, SMALL_RECT), ("0XAAA.avi", 6, BIG_RECT[:3] + [(1, "abc", 2, 3)])])
    with pytest.raises(MedicalDataError, match=r"VolumeTracings.csv, line 26: Y1 of 0XAAA.avi is not a number: 'abc'"):
        read_echonet(root)

    root = _variant(tmp_path, "unlisted", videos=ONE_VIDEO, listed=[("0XAAA", 8, "TRAIN")],
                    tracings=[("0XAAA.avi", 2, SMALL_RECT), ("0XAAA.avi", 6, BIG_RECT), ("0XEEE.avi", 1, BIG_RECT)])
    with pytest.raises(MedicalDataError, match=r"VolumeTracings.csv, line 44: traces 0XEEE.avi, which FileList.csv "
                                               r"does not list"):
        read_echonet(root)

    root = _variant(tmp_path, "count", videos=ONE_VIDEO, listed=[("0XAAA", "eight", "TRAIN")])
    with pytest.raises(MedicalDataError, match=r"FileList.csv, line 2: NumberOfFrames must be an integer, got 'eight'"):
        read_echonet(root)
    (root / "VolumeTracings.csv").unlink()
    with pytest.raises(MedicalDataError, match=r"no EchoNet-Dynamic table VolumeTracings.csv"):
        read_echonet(root)


def test_echonet_video_errors(tmp_path):
    # FileList claims 20 frames, the video has 8: found when the frame is read
    root = _variant(tmp_path, "long", videos=ONE_VIDEO, listed=[("0XAAA", 20, "TRAIN")],
                    tracings=[("0XAAA.avi", 2, SMALL_RECT), ("0XAAA.avi", 12, BIG_RECT)])
    ed, es = read_echonet(root)
    assert es.load().mask.sum() == 800
    with pytest.raises(MedicalDataError, match=r"0XAAA.avi: frame 12 was asked for, but the video has only 8 frame"):
        ed.load()

    root = _variant(tmp_path, "broken", videos=ONE_VIDEO, listed=[("0XAAA", 8, "TRAIN")],
                    tracings=[("0XAAA.avi", 2, SMALL_RECT), ("0XAAA.avi", 6, BIG_RECT)])
    (root / "Videos" / "0XAAA.avi").write_bytes(b"RIFF\x00\x00\x00\x00AVI garbage" * 10)
    ed, _ = read_echonet(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(MedicalDataError, match=r"0XAAA.avi: OpenCV cannot (open|decode any frame of) this video"):
            ed.load()

    off = VideoFrameRecord(id="x", subject="x", image=root / "Videos" / "0XAAA.avi", frame=0,
                           outline=((200, 200), (210, 200), (210, 210)))
    write_video(off.image, 2)
    with pytest.raises(MedicalDataError, match=r"0XAAA.avi, frame 0 \(x\): the traced outline covers no pixel"):
        off.load()
    with pytest.raises(MedicalDataError, match="an outline needs at least 3 vertices"):
        VideoFrameRecord(id="y", subject="y", image=off.image, outline=((1, 1), (2, 2)))


def test_prepare_reads_both_readers(echonet, camus, monkeypatch, tmp_path):
    recs = read_echonet(echonet, split="train") + read_camus(camus, views=("2CH",))
    data = prepare(recs, (32, 48), cache=False)
    assert len(data) == 8 and data.ids == [r.id for r in recs]
    assert tuple(data.images.shape) == (8, 1, 32, 48) and tuple(data.masks.shape) == (8, 1, 32, 48)
    assert float(data.images.min()) >= 0 and float(data.images.max()) <= 1
    areas = data.masks.flatten(1).sum(1)
    assert bool((areas > 0).all()) and areas[0] > areas[1]  # ED larger than ES
    # the cache key tells the frames of one video apart, and a second prepare is read back from the cache
    assert recs[0].cache_key() != recs[1].cache_key()
    monkeypatch.setenv("MORPHOGEN_CACHE", str(tmp_path / "cache"))
    first = prepare(recs[:2], (32, 32))
    assert len(list((tmp_path / "cache" / "medical").glob("prepared-*.pt"))) == 1
    again = prepare(recs[:2], (32, 32))
    assert again.ids == first.ids and bool((again.masks == first.masks).all())


def test_presets_read_through_training(camus, echonet):
    from morphogen.medical.training import data_root, load_preset, read_records

    for name, root, count in (("camus", camus, 8), ("echonet", echonet, 6)):
        preset = load_preset(name)
        assert preset.data["target"] == "LV endocardium" and all(s % 16 == 0 for s in preset.data["size"])
        assert len(read_records(preset, root)) == count
        with pytest.raises(MedicalDataError, match=f"preset '{name}' names no data folder: give --data DIR"):
            data_root(preset)
