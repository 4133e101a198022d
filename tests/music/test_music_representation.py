"""GETScore and vocabulary: round trips on hand-made scores and on the real MIDI files and chorales."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from morphogen.music.data import (EMPTY, PAD, Note, NoteScore, Track, Vocabulary, VocabularyError, build_vocabulary,
                                  decode, encode, load_corpus_chorales, load_jsb, read_midi, read_score_file)
from morphogen.music.io import write_midi, write_musicxml


def test_vocabulary_ids_and_saving():
    v = Vocabulary(["p:60", "p:64", "p:60.64.67", "d:36.42"], max_duration=8)
    assert len(v) == 2 + 4 + 8
    tok = v.pitch_token([67, 60, 64]).token
    assert v.pitches_of(tok) == [60, 64, 67]
    assert v.pitch_token([36, 42], drum=True).token != v.pitch_token([60]).token
    assert v.duration_of(v.duration_token(3)) == 3 and v.duration_of(v.duration_token(99)) == 8
    assert Vocabulary.from_dict(v.to_dict()) == v
    with pytest.raises(VocabularyError):
        v.pitch_token([61])
    near = v.pitch_token([60, 64, 70], nearest=True)  # largest known subset: {60, 64}? only singles known -> 64
    assert v.pitches_of(near.token) == [64] and near.dropped == 2
    pa, da = v.row_allowed()
    assert not pa[PAD] and not da[PAD] and pa[EMPTY] and da[EMPTY] and not pa[v.duration_token(1)] and not da[tok]


def test_encode_decode_hand_made():
    s = NoteScore([Track("a", [Note(0, 60, 4), Note(0, 64, 4), Note(4, 62, 2)]), Track("b", [])], (4, 4), "hand")
    v = build_vocabulary([s])
    g = encode(s, v, ["a", "b"])
    assert g.tokens.shape == (4, 16)
    assert (g.tokens[2:] == PAD).all()  # track b absent
    assert g.tokens[0, 1] == EMPTY and g.tokens[1, 1] == EMPTY
    assert v.pitches_of(int(g.tokens[0, 0])) == [60, 64]
    back = decode(g, v).score
    assert back.track("a").notes == s.track("a").notes and back.track("b").notes == []
    with pytest.raises(ValueError, match="not among"):
        encode(NoteScore([Track("z", [Note(0, 60, 1)])]), v, ["a", "b"])


def _roundtrip_midi(score: NoteScore, tracks: list[str], tmp: Path, chord: bool, max_duration: int = 64) -> NoteScore:
    v = build_vocabulary([score], max_duration=max_duration)
    g = encode(score, v, tracks)
    dec = decode(g, v, {t.name: t.program for t in score.tracks}).score
    path = write_midi(dec, tmp)
    return read_midi(path, [t for t in tracks if t != "chord"], chord_track=False) if chord else read_score_file(path)


def test_real_multitrack_midi_roundtrip(shared_data, tmp_path):
    files = sorted((shared_data / "music" / "multitrack-midi").glob("*.mid"))
    assert len(files) == 5
    exact_dur = total = 0
    for f in files:
        s = read_midi(f, chord_track=False)
        names = s.track_names
        back = _roundtrip_midi(s, names, tmp_path / f.name, chord=True)
        for t in s.tracks:
            got = back.track(t.name).notes
            # onset and pitch of every note survive MIDI -> tokens -> MIDI exactly
            assert sorted((n.onset, n.pitch) for n in got) == sorted((n.onset, n.pitch) for n in t.notes), (f, t.name)
            durs = {(n.onset, n.pitch): n.duration for n in got}
            exact_dur += sum(durs[(n.onset, n.pitch)] == n.duration for n in t.notes)
            total += len(t.notes)
    # one duration per onset group is the GETScore's only loss; measured 0.953 (12,275 of 12,876 notes) on these five files
    assert exact_dur / total > 0.9


def test_multitrack_chord_track_and_mapping(shared_data):
    s = read_midi(shared_data / "music" / "multitrack-midi" / "0_10230_TS0.mid")
    assert s.track_names == ["melody", "bass", "drums", "guitar", "piano", "strings", "chord"]
    assert s.track("drums").is_drum and len(s.track("drums").notes) == 1347
    assert len(s.track("guitar").notes) == 419
    chords = s.track("chord").notes
    assert chords and all(48 <= n.pitch < 72 for n in chords) and all(n.onset % 4 == 0 for n in chords)
    kid = read_midi(shared_data / "music" / "multitrack-midi" / "childhood.mid")
    assert len(kid.track("melody").notes) == 241 and len(kid.track("guitar").notes) == 740


def test_jsb_roundtrip_exact(shared_data, tmp_path):
    test = load_jsb(shared_data / "music" / "jsb", "test")
    assert len(test) == 77 and len(load_jsb(shared_data / "music" / "jsb", "train")) == 229
    for s in test[:10]:
        back = _roundtrip_midi(s, s.track_names, tmp_path / "c.mid", chord=False, max_duration=256)
        assert [t.notes for t in back.tracks] == [t.notes for t in s.tracks]
    # test[0] holds a note of 68 sixteenths: with 64 duration tokens it is clipped, and the clipping is reported
    g = encode(test[0], build_vocabulary([test[0]], max_duration=64), test[0].track_names)
    assert g.report == {"duration_clipped": 1}


def test_corpus_chorales_roundtrip_and_musicxml(tmp_path):
    chorales = load_corpus_chorales("test", limit=2, use_cache=False)
    assert len(chorales) == 2 and all(len(c.tracks) == 4 for c in chorales)
    for s in chorales:
        back = _roundtrip_midi(s, s.track_names, tmp_path / "c.mid", chord=False)
        assert [t.notes for t in back.tracks] == [t.notes for t in s.tracks]
        xml = read_score_file(write_musicxml(s, tmp_path / "c.musicxml"))
        assert [t.notes for t in xml.tracks] == [t.notes for t in s.tracks]


def test_transposition_augmentation_vocab():
    s = NoteScore([Track("s", [Note(0, 60, 4)])])
    v = build_vocabulary([s], transpositions=range(-2, 3))
    assert sorted(v.pitches_of(i)[0] for i in range(2, 2 + v.num_pitch_tokens)) == [58, 59, 60, 61, 62]
    assert np.all(encode(s.transpose(2), v, ["s"]).tokens[0, 0] == v.pitch_token([62]).token)
