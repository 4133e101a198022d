"""The typer commands, called in-process on a tiny untrained model."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from morphogen.music.cli import app, plugin
from morphogen.music.data import Note, NoteScore, Track, read_score_file
from morphogen.music.io import write_midi
from .music_helpers import _model, _scores


def test_plugin_and_generate_harmonization(tmp_path):
    assert plugin.name == "music" and plugin.typer_app() is app
    model, _ = _model(_scores(2))
    ckpt = model.save(tmp_path / "tiny.safetensors")
    melody = NoteScore([Track("Flute", [Note(4 * i, 72 + (i % 3), 4) for i in range(16)], 73)])
    src = write_midi(melody, tmp_path / "tune.mid")
    res = CliRunner().invoke(app, ["generate", "--checkpoint", str(ckpt), "--input", str(src), "--targets",
                                   "alto,tenor,bass", "--steps", "4", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    for ext in ("mid", "musicxml", "png"):
        assert (tmp_path / "out" / f"tune.{ext}").is_file()
    back = read_score_file(tmp_path / "out" / "tune.mid")
    assert back.track("soprano").notes == melody.tracks[0].notes  # the source is unchanged
    assert all(back.track(v).notes for v in ("alto", "tenor", "bass"))
    bad = CliRunner().invoke(app, ["generate", "--checkpoint", str(ckpt), "--targets", "viola", "--out", str(tmp_path)])
    assert bad.exit_code != 0 and "viola" in bad.output


def test_generate_from_scratch_and_evaluate(tmp_path, shared_data):
    from morphogen.music.data import load_jsb

    model, _ = _model(load_jsb(shared_data / "music" / "jsb", "train"))  # a vocabulary that covers JSB
    ckpt = model.save(tmp_path / "tiny.safetensors")
    res = CliRunner().invoke(app, ["generate", "--checkpoint", str(ckpt), "--bars", "2", "--steps", "3", "--out",
                                   str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    gen = read_score_file(tmp_path / "o" / "generated.mid")
    assert max(n.onset for t in gen.tracks for n in t.notes) < 32  # 2 bars of onsets
    out = tmp_path / "m.json"
    res = CliRunner().invoke(app, ["evaluate", "--checkpoint", str(ckpt), "--split", "jsb-test", "--data",
                                   str(shared_data / "music" / "jsb"), "--limit", "2", "--steps", "3", "--num-t", "2",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    d = json.loads(out.read_text())
    assert d["pieces"] == 2 and d["nll_all_tracks"]["nll_nats_per_frame"] > 0
    assert d["reference_bach"]["range_share"] > 0.9 and 0 <= d["generated"]["chord_share"] <= 1


def test_generate_without_sampling_flags_uses_the_models_default_setting(tmp_path):
    """The model's default sampler and repair (for the shipped model the measured best) are what `generate` runs
    when no sampling option is given; an option changes only itself."""
    import json

    from typer.testing import CliRunner

    from morphogen.music.cli import app
    from tests.music.music_helpers import _model, _scores

    model, _ = _model(_scores(2))
    model.repair = {"rounds": 2, "steps": 2, "context": 1, "constrain": True}
    ckpt = model.save(tmp_path / "tiny.safetensors")
    res = CliRunner().invoke(app, ["generate", "--checkpoint", str(ckpt), "--bars", "1", "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output[res.output.index("{"):])
    assert (rep["sampler"], rep["steps"], rep["order"], rep["choice_noise"]) == ("unmask", 50, "confidence", 4.5)
    assert (rep["repair_rounds"], rep["repair_constrain"]) == (2, True)
    res = CliRunner().invoke(app, ["generate", "--checkpoint", str(ckpt), "--bars", "1", "--steps", "4",
                                   "--repair-rounds", "0", "--out", str(tmp_path / "b")])
    rep = json.loads(res.output[res.output.index("{"):])
    assert (rep["steps"], rep["choice_noise"], rep["repair_rounds"], rep["nfe"]) == (4, 4.5, 0, 4)
