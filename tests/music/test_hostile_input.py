"""Hostile input (issue 15): every bad input to `morphogen music ...` is refused by the real command line with one
line naming the culprit (file, record or option), exit code 2 and no traceback, before any sampling or training.

Each case runs through the real entry point inside the test process (:func:`tests.cli_runs.run_sweep`: the same
parsing, one-line errors and exit codes as the installed command), once in a module fixture, and is then checked by
its own parametrised test; `scripts/hostile_input_report.py` runs the same kind of cases as real subprocesses."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.cli_runs import assert_refused, run_sweep

# one xdist worker runs the whole sweep (its module fixture runs the cases once, not once per worker)
pytestmark = pytest.mark.xdist_group("music_hostile")

# --- tiny Standard MIDI Files written byte by byte (no music21 needed to write them) ---------------------------


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _track(notes: list[tuple[int, int]], name: str = "", tpq: int = 480) -> bytes:
    """One MTrk chunk: consecutive notes (pitch, quarters) on channel 1."""
    body = b""
    if name:
        body += b"\x00\xff\x03" + _vlq(len(name)) + name.encode()
    for pitch, quarters in notes:
        body += b"\x00" + bytes([0x90, pitch, 80]) + _vlq(quarters * tpq) + bytes([0x80, pitch, 0])
    body += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + body


def _smf(tracks: list[bytes], ntracks: int | None = None, tpq: int = 480) -> bytes:
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks) if ntracks is None else ntracks, tpq)
    return header + b"".join(tracks)


def _melody(n: int = 37) -> list[tuple[int, int]]:
    return [(60 + (i % 12), 1) for i in range(n)]


# --- the cases ---------------------------------------------------------------------------------------------------

# (id, arguments after `music`, text stderr must contain); "{t}" is the case's folder, "{other}" a model file of
# another domain. Inputs are written by `_write_inputs`.
GEN = ["generate", "--checkpoint", "chorales", "--steps", "2", "--repair-rounds", "0", "--out", "{t}/out"]
CASES: list[tuple[str, list[str], str]] = [
    # counts and sizes
    ("bars-0", GEN + ["--bars", "0"], "--bars"),
    ("bars-negative", GEN + ["--bars", "-4"], "--bars"),
    ("bars-too-many", GEN + ["--bars", "100000"], "--bars"),
    ("steps-0", GEN[:-2] + ["--steps", "0", "--out", "{t}/out"], "--steps"),
    ("steps-negative", GEN + ["--steps", "-3"], "--steps"),
    ("batch-size-0", GEN + ["--batch-size", "0"], "--batch-size"),
    ("temperature-0", GEN + ["--temperature", "0"], "--temperature"),
    ("temperature-inf", GEN + ["--temperature", "inf"], "--temperature"),
    ("choice-noise-negative", GEN + ["--choice-noise", "-1"], "--choice-noise"),
    ("order-unknown", GEN + ["--order", "sideways"], "--order"),
    ("repair-rounds-negative", GEN + ["--repair-rounds", "-1"], "--repair-rounds"),
    ("repair-steps-0", GEN + ["--repair-steps", "0"], "--repair-steps"),
    ("repair-accept-unknown", GEN + ["--repair-accept", "maybe"], "--repair-accept"),
    # targets
    ("targets-empty", GEN + ["--targets", ""], "--targets"),
    ("targets-commas", GEN + ["--targets", " , "], "--targets"),
    ("targets-twice", GEN + ["--targets", "alto,alto"], "alto"),
    ("targets-unknown", GEN + ["--targets", "viola"], "viola"),
    # checkpoints
    ("checkpoint-other-domain", GEN[:2] + ["{other}"] + GEN[3:], "not a music model"),
    ("checkpoint-missing", GEN[:2] + ["{t}/nope.safetensors"] + GEN[3:], "nope.safetensors"),
    ("checkpoint-binary", GEN[:2] + ["{t}/binary.safetensors"] + GEN[3:], "binary.safetensors"),
    ("checkpoint-empty", GEN[:2] + ["{t}/empty.safetensors"] + GEN[3:], "empty.safetensors"),
    # input files
    ("input-missing", GEN + ["--input", "{t}/missing.mid"], "missing.mid"),
    ("input-directory", GEN + ["--input", "{t}/folder.mid"], "folder.mid"),
    ("input-empty-midi", GEN + ["--input", "{t}/empty.mid"], "empty.mid"),
    ("input-binary-midi", GEN + ["--input", "{t}/binary.mid"], "binary.mid"),
    ("input-text-as-midi", GEN + ["--input", "{t}/text.mid"], "text.mid"),
    ("input-truncated-midi", GEN + ["--input", "{t}/truncated.mid"], "truncated.mid"),
    ("input-missing-tracks-midi", GEN + ["--input", "{t}/fewer.mid"], "fewer.mid"),
    ("input-2000-bars", GEN + ["--input", "{t}/long.mid"], "long.mid"),
    ("input-one-endless-note", GEN + ["--input", "{t}/endless.mid"], "endless.mid"),
    ("input-not-a-score", GEN + ["--input", "{t}/notes.txt"], "notes.txt"),
    ("input-wav", GEN + ["--input", "{t}/sound.wav"], "sound.wav"),
    ("input-empty-musicxml", GEN + ["--input", "{t}/empty.musicxml"], "empty.musicxml"),
    ("input-binary-musicxml", GEN + ["--input", "{t}/binary.musicxml"], "binary.musicxml"),
    ("input-broken-musicxml", GEN + ["--input", "{t}/broken.musicxml"], "broken.musicxml"),
    ("input-mxl-not-zip", GEN + ["--input", "{t}/fake.mxl"], "fake.mxl"),
    ("out-is-the-input-folder", GEN[:-1] + ["{t}/same", "--input", "{t}/same/piece.mid"], "replace its input"),
    # evaluate
    ("evaluate-targets-empty", ["evaluate", "--checkpoint", "chorales", "--targets", "", "--out", "{t}/m.json"],
     "--targets"),
    ("evaluate-split-unknown", ["evaluate", "--checkpoint", "chorales", "--split", "jsb-nope", "--out",
                                "{t}/m.json"], "--split"),
    ("evaluate-data-missing", ["evaluate", "--checkpoint", "chorales", "--data", "{t}/nojsb", "--out",
                               "{t}/m.json"], "nojsb"),
    ("evaluate-num-t-0", ["evaluate", "--checkpoint", "chorales", "--num-t", "0"], "--num-t"),
    ("evaluate-limit-0", ["evaluate", "--checkpoint", "chorales", "--limit", "0"], "--limit"),
    ("evaluate-steps-0", ["evaluate", "--checkpoint", "chorales", "--steps", "0"], "--steps"),
    # train and prepare
    ("train-limit-0", ["train", "--preset", "chorales", "--data", "{t}/prepared.json", "--limit", "0", "--out",
                       "{t}/run"], "--limit"),
    ("train-d-model-0", ["train", "--preset", "chorales", "--data", "{t}/prepared.json", "--d-model", "0", "--out",
                         "{t}/run"], "--d-model"),
    ("train-layers-negative", ["train", "--preset", "chorales", "--data", "{t}/prepared.json", "--layers", "-1",
                               "--out", "{t}/run"], "--layers"),
    ("train-heads-0", ["train", "--preset", "chorales", "--data", "{t}/prepared.json", "--heads", "0", "--out",
                       "{t}/run"], "--heads"),
    ("train-data-binary", ["train", "--preset", "chorales", "--data", "{t}/binary.json", "--out", "{t}/run"],
     "binary.json"),
    ("train-data-empty", ["train", "--preset", "chorales", "--data", "{t}/empty.json", "--out", "{t}/run"],
     "empty.json"),
    ("prepare-limit-0", ["prepare", "--preset", "jsb", "--data", "{t}/nojsb", "--limit", "0", "--out",
                         "{t}/p.json"], "--limit"),
    ("prepare-out-not-json", ["prepare", "--preset", "chorales", "--out", "{t}/p.txt"], "--out"),
    ("prepare-data-missing", ["prepare", "--preset", "jsb", "--data", "{t}/nojsb", "--out", "{t}/p.json"], "nojsb"),
]


def _write_inputs(t: Path) -> None:
    (t / "folder.mid").mkdir()
    (t / "nojsb").mkdir()
    for name in ("empty.mid", "empty.musicxml", "empty.json", "empty.safetensors"):
        (t / name).write_bytes(b"")
    noise = bytes((i * 97 + 13) % 256 for i in range(3000))
    for name in ("binary.mid", "binary.musicxml", "binary.json", "binary.safetensors"):
        (t / name).write_bytes(noise)
    (t / "text.mid").write_text("soprano: C D E F G\n")
    (t / "notes.txt").write_text("C4 D4 E4 F4\n")
    (t / "sound.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(24))
    (t / "broken.musicxml").write_text('<?xml version="1.0"?><score-partwise><part id="P1"><measure number="1">')
    (t / "fake.mxl").write_bytes(b"PK\x03\x04 this is not a zip archive")
    good = _smf([_track([]), _track(_melody(37), "soprano")])
    (t / "truncated.mid").write_bytes(good[: len(good) - 150])  # the last chunk is shorter than its header says
    (t / "fewer.mid").write_bytes(_smf([_track(_melody(8), "soprano")], ntracks=3))  # 3 announced, 1 present
    (t / "long.mid").write_bytes(_smf([_track([(60 + i % 12, 4) for i in range(2000)], "soprano")]))  # 2,000 bars
    (t / "endless.mid").write_bytes(_smf([_track([(60, 40000)], "soprano")]))  # one note of 10,000 bars
    (t / "prepared.json").write_text('{"format": "not this"}')
    (t / "same").mkdir()  # --out the input's folder: the piece's .mid would replace the input
    (t / "same" / "piece.mid").write_bytes(_smf([_track([]), _track(_melody(16), "soprano")]))


def _other_domain_model() -> str | None:
    from morphogen.bundle import shipped_models

    others = [p for k, p in sorted(shipped_models().items()) if not k.startswith("music/")]
    return str(others[0]) if others else None


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    t = tmp_path_factory.mktemp("hostile")
    _write_inputs(t)
    return t, run_sweep("music", CASES, t, _other_domain_model())


def test_the_sweep_is_large_enough():
    assert len(CASES) >= 25 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("cid,args,culprit", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_in_one_line(results, cid, args, culprit):
    t, done = results
    assert cid in done, "no model of another domain is installed (the tests install every domain)"
    assert_refused(done[cid], culprit, t / f"out-{cid}")
    if cid == "out-is-the-input-folder":
        assert sorted(p.name for p in (t / "same").iterdir() if not p.name.startswith(".")) == ["piece.mid"]


def test_the_cli_checks_agree_with_the_model():
    """The option checks made before the model is loaded use copies of the model's lists of orders and repair
    acceptance rules; a new order must be added to both."""
    from morphogen.music.cli import ORDERS, REPAIR_ACCEPT
    from morphogen.music.models.repair import ACCEPT
    from morphogen.samplers.unmask import ORDERS as UNMASK_ORDERS

    assert set(ORDERS) == {"ancestral", *UNMASK_ORDERS} and set(REPAIR_ACCEPT) == set(ACCEPT)


def test_truncated_midi_is_refused_by_the_reader(tmp_path):
    """The library reader (not only the command line) refuses a truncated file, naming it and the chunk."""
    from morphogen.music.data import MusicDataError, read_score_file

    good = _smf([_track([]), _track(_melody(37), "soprano")])
    (tmp_path / "whole.mid").write_bytes(good)
    assert sum(len(t.notes) for t in read_score_file(tmp_path / "whole.mid").tracks) == 37
    (tmp_path / "cut.mid").write_bytes(good[:-150])
    with pytest.raises(MusicDataError, match=r"cut\.mid: not a readable MIDI file \(truncated: track chunk 2 of 2 says"):
        read_score_file(tmp_path / "cut.mid")
