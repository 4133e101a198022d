"""The medical commands in-process on a tiny untrained model and generated phantoms: files written, sizes kept,
the index written last, evaluation matched by name; bad input refused with the culprit named."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from morphogen.medical.cli import app, plugin
from morphogen.medical.phantoms import make_phantom


def tiny_model(size=(32, 48)):
    import torch

    from morphogen.medical.models.bundle import SegmentationModel
    from morphogen.medical.models.unet import DualNoiseUNet
    from morphogen.processes.bernoulli import BernoulliDiffusion
    from morphogen.processes.gaussian import GaussianProcess
    from morphogen.processes.joint import JointProcess
    from morphogen.samplers.ancestral import Ancestral
    from morphogen.schedules.discrete import CosineKeep
    from morphogen.schedules.gaussian import VPCosine

    torch.manual_seed(0)
    proc = JointProcess({"gauss": GaussianProcess(VPCosine(), loss_kind="x1"),
                         "bern": BernoulliDiffusion(CosineKeep(), final="probability")})
    den = DualNoiseUNet(channels=(8, 16), time_dim=16)
    return SegmentationModel(process=proc, denoiser=den, sampler=Ancestral(steps=3), image_size=size,
                             target="fetal head")


@pytest.fixture
def phantom_dir(tmp_path):
    d = tmp_path / "images"
    d.mkdir()
    truth = {}
    for i in range(3):
        ph = make_phantom(seed=i, size=(108, 160))
        Image.fromarray(ph.image).save(d / f"p{i}.png")
        Image.fromarray(np.where(ph.mask, 255, 0).astype(np.uint8)).save(d / f"p{i}_Annotation.png")
        truth[f"p{i}"] = ph
    return d, truth


def test_segment_writes_every_file_at_the_input_size_and_evaluate_scores_them(tmp_path, phantom_dir):
    assert plugin.name == "medical" and plugin.typer_app() is app
    d, truth = phantom_dir
    ckpt = tiny_model().save(tmp_path / "tiny.safetensors")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["segment", "--checkpoint", str(ckpt), "--images", str(d), "--steps", "2",
                                   "--ensemble", "3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "skipped 3 label file(s)" in res.output
    rows = list(csv.DictReader(open(out / "index.csv")))
    assert [r["id"] for r in rows] == ["p0", "p1", "p2"]
    for r in rows:
        m = np.asarray(Image.open(out / r["mask"]))
        assert m.shape == (108, 160) and set(np.unique(m)) <= {0, 255}
        assert np.asarray(Image.open(out / r["overlay"])).shape == (108, 160, 3)
        assert np.asarray(Image.open(out / r["uncertainty"])).shape == (108, 160, 3)
        assert int(r["nfe"]) == 2 * 3
    info = json.loads((out / "segmentation.json").read_text())
    assert info["images"] == 3 and info["ensemble"] == 3 and info["steps"] == 2
    # evaluate against the phantoms' masks in a plain label folder (matched by name: p0 -> p0_Annotation)
    res = CliRunner().invoke(app, ["evaluate", "--predictions", str(out), "--labels", str(d)])
    assert res.exit_code == 0, res.output
    rep = json.loads((out / "evaluation.json").read_text())
    assert rep["summary"]["n"] == 3 and 0 <= rep["summary"]["dice_mean"] <= 1
    assert {r["id"] for r in rep["per_image"]} == {"p0", "p1", "p2"}


def test_single_member_writes_no_uncertainty_and_a_file_input_works(tmp_path, phantom_dir):
    d, _ = phantom_dir
    ckpt = tiny_model().save(tmp_path / "tiny.safetensors")
    out = tmp_path / "one"
    res = CliRunner().invoke(app, ["segment", "--checkpoint", str(ckpt), "--images", str(d / "p1.png"),
                                   "--steps", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "p1_mask.png").is_file() and not (out / "p1_uncertainty.png").exists()
    assert list(csv.DictReader(open(out / "index.csv")))[0]["uncertainty"] == ""


def test_nifti_and_metaimage_inputs(tmp_path):
    import nibabel as nib

    from morphogen.medical.data.metaimage import write_metaimage

    d = tmp_path / "vol"
    d.mkdir()
    img = make_phantom(seed=5, size=(64, 96)).image.astype(np.float32)
    nib.save(nib.Nifti1Image(img.T, np.diag([0.3, 0.3, 1, 1])), d / "a.nii.gz")
    write_metaimage(d / "b.mhd", img.astype(np.uint8), (0.3, 0.3))
    ckpt = tiny_model().save(tmp_path / "tiny.safetensors")
    res = CliRunner().invoke(app, ["segment", "--checkpoint", str(ckpt), "--images", str(d), "--steps", "1",
                                   "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    rows = {r["id"]: r for r in csv.DictReader(open(tmp_path / "o" / "index.csv"))}
    assert set(rows) == {"a", "b"}
    for r in rows.values():
        assert (int(r["height"]), int(r["width"])) == (64, 96)
        assert float(r["spacing_row_mm"]) == pytest.approx(0.3)


def test_bad_inputs_are_refused_naming_the_culprit(tmp_path, phantom_dir):
    d, _ = phantom_dir
    ckpt = tiny_model().save(tmp_path / "tiny.safetensors")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png at all")
    cases = [
        (["segment", "--checkpoint", str(ckpt), "--images", str(bad), "--out", str(tmp_path / "x1")], "bad.png"),
        (["segment", "--checkpoint", str(ckpt), "--images", str(tmp_path / "nothing"), "--out", str(tmp_path / "x2")],
         "nothing"),
        (["segment", "--checkpoint", str(tmp_path / "none.safetensors"), "--images", str(d), "--out",
          str(tmp_path / "x3")], "none.safetensors"),
        (["segment", "--checkpoint", str(ckpt), "--images", str(d), "--ensemble", "0", "--out", str(tmp_path / "x4")],
         "--ensemble"),
        (["segment", "--checkpoint", str(ckpt), "--images", str(d), "--fusion", "vote", "--out", str(tmp_path / "x5")],
         "--fusion"),
    ]
    for args, culprit in cases:
        res = CliRunner().invoke(app, args, env={"COLUMNS": "400"})
        assert res.exit_code != 0, args
        text = res.output + (str(res.exception) if res.exception else "")
        assert culprit in text, (args, text)


def test_demo_writes_phantoms_masks_and_metrics_and_says_they_are_phantoms(tmp_path):
    from morphogen.medical.demo import run

    res = run(tmp_path / "demo", model=tiny_model(), phantoms=2, ensemble=2, steps=2)
    assert res.domain == "medical" and "phantoms" in res.produced and "not HC18" in res.produced
    for f in res.files:
        assert (tmp_path / "demo" / f).is_file() or __import__("pathlib").Path(f).is_file(), f
    rep = json.loads((tmp_path / "demo" / "metrics.json").read_text())
    assert rep["summary"]["n"] == 2 and "generated phantoms" in rep["images"]
    assert 0 <= res.value <= 1
