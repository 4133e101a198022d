"""Readers name the file and the reason for input they cannot use."""
from __future__ import annotations

import json

import pytest

from morphogen.music.data import MusicDataError, Note, NoteScore, Track, load_jsb, read_midi, read_midi_folder, read_score_file
from morphogen.music.data.chorales import corpus_split
from morphogen.music.io import write_midi


def test_garbage_midi(tmp_path):
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    with pytest.raises(MusicDataError, match="broken.mid: not a readable MIDI file"):
        read_midi(bad)
    with pytest.raises(MusicDataError, match="missing.mid: no such file"):
        read_midi(tmp_path / "missing.mid")


def test_midi_without_usable_tracks(tmp_path):
    organ = NoteScore([Track("Organ", [Note(0, 60, 4)], program=19)])
    path = write_midi(organ, tmp_path / "organ.mid")
    with pytest.raises(MusicDataError, match=r"organ.mid: no usable tracks.*Organ\(program 19"):
        read_midi(path)
    empty = write_midi(NoteScore([Track("piano", [])]), tmp_path / "empty.mid")
    with pytest.raises(MusicDataError, match="empty.mid: no usable tracks"):
        read_midi(empty)
    with pytest.raises(MusicDataError, match="empty.mid: no usable tracks"):
        read_score_file(empty)


def test_unmapped_tracks_are_reported_not_hidden(tmp_path):
    s = NoteScore([Track("Bass", [Note(0, 40, 4)], program=33), Track("Organ", [Note(0, 60, 4), Note(4, 62, 4)],
                                                                      program=19)])
    got = read_midi(write_midi(s, tmp_path / "two.mid"), chord_track=False)
    assert got.track("bass").notes == [Note(0, 40, 4)]
    assert got.report == {"unmapped_track:Organ(program 19)": 2}


def test_too_many_parts(tmp_path):
    s = NoteScore([Track(f"v{i}", [Note(0, 60 + i, 4)]) for i in range(5)])
    with pytest.raises(MusicDataError, match="5 tracks with notes, but the model has only 4"):
        read_score_file(write_midi(s, tmp_path / "five.mid"))


def test_melody_becomes_soprano(tmp_path):
    s = read_score_file(write_midi(NoteScore([Track("Flute", [Note(0, 72, 4)], 73)]), tmp_path / "m.mid"))
    assert s.track_names == ["soprano", "alto", "tenor", "bass"] and s.track("soprano").notes == [Note(0, 72, 4)]


def test_jsb_errors(tmp_path):
    p = tmp_path / "Jsb16thSeparated.json"
    p.write_text(json.dumps({"train": [[[60, 55, 52, 48], [60, 55, 52]]], "valid": [], "test": []}))
    with pytest.raises(MusicDataError, match=r"Jsb16thSeparated.json:train\[0\], frame 1: expected 4 voices"):
        load_jsb(tmp_path, "train")
    p.write_text(json.dumps({"train": [[[60, 55, 52, 300]]], "valid": [], "test": []}))
    with pytest.raises(MusicDataError, match="frame 0, voice bass: 300 is not a MIDI pitch"):
        load_jsb(tmp_path, "train")
    p.write_text("{not json")
    with pytest.raises(MusicDataError, match="not valid JSON"):
        load_jsb(tmp_path, "train")
    with pytest.raises(MusicDataError, match="no .mid files"):
        read_midi_folder(tmp_path)


def test_jsb_frames_to_notes(tmp_path):
    p = tmp_path / "Jsb16thSeparated.json"
    frames = [[72, 67, 64, 48]] * 4 + [[74, 67, -1, 47]] * 2
    p.write_text(json.dumps({"train": [frames], "valid": [], "test": []}))
    s = load_jsb(p, "train")[0]
    assert s.track("soprano").notes == [Note(0, 72, 4), Note(4, 74, 2)]
    assert s.track("alto").notes == [Note(0, 67, 6)]
    assert s.track("tenor").notes == [Note(0, 64, 4)]


def test_corpus_split_is_deterministic():
    assert corpus_split("bwv1.6.mxl") == corpus_split("/other/path/bwv1.6.mxl")
    names = [f"bwv{i}.6.mxl" for i in range(400)]
    share = sum(corpus_split(n) == "test" for n in names) / len(names)
    assert 0.05 < share < 0.15
