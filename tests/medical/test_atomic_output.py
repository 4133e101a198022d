"""The files of ``medical segment`` (issue 15): each picture atomic, ``index.csv`` and last ``segmentation.json``
after every picture (an earlier run's removed first), and a full disk at any file named in one line on a line of
its own (the progress bar ends first), with no empty, truncated or temporary file and no index left. A tiny
untrained model on two images."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ..output_faults import FullDisk, check_full_disk_run, folder_files, run_command
from .test_medical_cli import tiny_model

FILES = ["a_mask.png", "a_overlay.png", "b_mask.png", "b_overlay.png", "index.csv", "segmentation.json"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from PIL import Image

    t = tmp_path_factory.mktemp("medical")
    (t / "images").mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        Image.fromarray(rng.integers(0, 255, (40, 56)).astype(np.uint8)).save(t / "images" / f"{name}.png")
    return tiny_model().save(t / "tiny.safetensors"), t / "images"


def _segment(inputs, out):
    ckpt, images = inputs
    return run_command("medical", "segment", "--checkpoint", ckpt, "--images", images, "--steps", "1",
                       "--batch-size", "1", "--out", out)


def test_every_file_is_atomic_and_the_index_comes_last(inputs, tmp_path, monkeypatch):
    out = tmp_path / "o"
    out.mkdir()
    (out / "segmentation.json").write_text("{}")  # an earlier run's
    disk = FullDisk().install(monkeypatch)
    res = _segment(inputs, out)
    assert res.code == 0, res.stderr[-3000:]
    assert [p.name for p in disk.written] == FILES
    assert sorted(folder_files(out)) == sorted(FILES)
    assert json.loads((out / "segmentation.json").read_text())["images"] == 2


@pytest.mark.parametrize("k", range(len(FILES)), ids=FILES)
def test_a_full_disk_leaves_complete_files_or_none_and_no_index(inputs, tmp_path, monkeypatch, k):
    out = tmp_path / "o"
    out.mkdir()
    (out / "segmentation.json").write_text("{}")  # an earlier run's: removed before the first picture
    disk = FullDisk(fail_at=k).install(monkeypatch)
    check_full_disk_run(_segment(inputs, out), disk, out, "segmentation.json")
    assert disk.refused.name == FILES[k]
