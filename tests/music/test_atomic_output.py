"""The files of ``music generate`` (issue 15): every file atomic (music21 writes to a temporary name beside the
final one), the piece's index ``<stem>.json`` written last and removed first, and a full disk in the middle of a run
named in one line with no empty or truncated MIDI / MusicXML / PNG, no temporary file and no index left. A tiny
untrained model."""
from __future__ import annotations

import json

import pytest

from ..output_faults import FullDisk, check_full_disk_run, folder_files, run_command
from .music_helpers import _model, _scores

FILES = ["generated.mid", "generated.musicxml", "generated.png", "generated.json"]  # in the order they are written


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    model, _ = _model(_scores(2))
    return model.save(tmp_path_factory.mktemp("music") / "tiny.safetensors")


def _generate(checkpoint, out, *more):
    return run_command("music", "generate", "--checkpoint", checkpoint, "--bars", "1", "--steps", "2", "--out", out,
                       *more)


def test_every_file_is_atomic_and_the_index_comes_last(checkpoint, tmp_path, monkeypatch):
    from morphogen.music.data import read_score_file

    disk = FullDisk().install(monkeypatch)
    res = _generate(checkpoint, tmp_path / "o")
    assert res.code == 0, res.stderr[-3000:]
    assert [p.name for p in disk.written] == FILES
    assert sorted(folder_files(tmp_path / "o")) == sorted(FILES)  # no file written around it
    index = json.loads((tmp_path / "o" / "generated.json").read_text())
    assert index["files"] == FILES[:-1] and index["targets"] == ["soprano", "alto", "tenor", "bass"]
    assert read_score_file(tmp_path / "o" / "generated.musicxml").tracks  # music21 wrote real MusicXML
    assert (tmp_path / "o" / "generated.png").read_bytes()[:4] == b"\x89PNG"  # the suffix's format


@pytest.mark.parametrize("k", range(len(FILES)), ids=FILES)
def test_a_full_disk_leaves_complete_files_or_none_and_no_index(checkpoint, tmp_path, monkeypatch, k):
    disk = FullDisk(fail_at=k).install(monkeypatch)
    check_full_disk_run(_generate(checkpoint, tmp_path / "o"), disk, tmp_path / "o", "generated.json")
    assert disk.refused.name == FILES[k]


def test_a_piece_without_its_index_is_the_interrupted_one(checkpoint, tmp_path, monkeypatch):
    """Two pieces in one folder; regenerating one stops at its MusicXML: that piece has no index (its .mid is new,
    its .musicxml the earlier one's), the other piece keeps its own."""
    from morphogen.music.data import Note, NoteScore, Track
    from morphogen.music.io import write_midi

    out = tmp_path / "o"
    tune = write_midi(NoteScore([Track("soprano", [Note(4 * i, 72, 4) for i in range(4)])]), tmp_path / "tune.mid")
    assert _generate(checkpoint, out).code == 0
    assert _generate(checkpoint, out, "--input", tune).code == 0
    assert {"generated.json", "tune.json"} <= set(folder_files(out))
    disk = FullDisk(fail_at=1).install(monkeypatch)
    res = _generate(checkpoint, out, "--seed", "3")
    assert res.code == 2 and disk.refused == out / "generated.musicxml", res.stderr[-3000:]
    files = folder_files(out)
    assert "generated.json" not in files and "tune.json" in files
    assert json.loads((out / "tune.json").read_text())["files"] == ["tune.mid", "tune.musicxml", "tune.png"]
