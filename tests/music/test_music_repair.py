"""The parallel-fifth/octave repair stage: its detector on a hand-made grid, and that it never touches sources."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from morphogen.music.data import GETScore, Note, NoteScore, Track, decode, encode
from morphogen.music.evaluation import batch_grids
from morphogen.music.metrics import find_parallels, parallel_counts, voice_frames
from morphogen.music.models.repair import (RepairConfig, RepairConfigError, TokenTables, allowed_pitches, escalate,
                                           grid_frames, note_cells, offending_notes, repair_parallels)
from .music_helpers import VOICES, _model, _scores

# block chords of 4 steps, voices S A T B; column 0 -> 1: tenor and bass rise a tone a fifth apart (one parallel
# fifth, nothing else); column 1 -> 2: no parallel
COLUMNS = [[72, 64, 55, 48], [72, 64, 57, 50], [74, 65, 59, 43], [72, 64, 55, 48]]


def _hand() -> NoteScore:
    return NoteScore([Track(name, [Note(4 * j, col[v], 4) for j, col in enumerate(COLUMNS)])
                      for v, name in enumerate(VOICES)], (4, 4), "hand")


@pytest.fixture(scope="module")
def setup():
    hand = _hand()
    model, vocab = _model(_scores(4) + [hand])
    torch.manual_seed(0)
    return model, vocab, hand


def test_detector_finds_the_known_parallel(setup):
    model, vocab, hand = setup
    frames = voice_frames(hand, VOICES)
    events = find_parallels(frames)
    pc = parallel_counts(frames)
    assert (pc.fifths, pc.octaves) == (1, 0) and len(events) == 1
    e = events[0]
    assert (e.kind, e.upper, e.lower, e.before, e.after) == ("fifth", 2, 3, 0, 4)
    gs = encode(hand, vocab, VOICES)
    tables = TokenTables(vocab)
    f, owner = grid_frames(gs.tokens, tables, [0, 1, 2, 3])
    assert np.array_equal(f[:, : frames.shape[1]], frames) and (f[:, frames.shape[1]:] == -1).all()
    assert owner[2, 5] == 4 and owner[3, 7] == 4
    n, notes = offending_notes(gs.tokens, tables, [0, 1, 2, 3], {1, 2, 3})
    assert n == 1 and notes == [(2, 4), (3, 4)]  # the tenor and bass notes that moved into the fifth
    n, notes = offending_notes(gs.tokens, tables, [0, 1, 2, 3], {1, 3})  # tenor a source: only the bass note
    assert n == 1 and notes == [(3, 4)]
    target = np.zeros(gs.tokens.shape, dtype=bool)
    target[2:] = True
    cells = note_cells(gs.tokens, target, [(3, 4)], tables, context=0)
    assert cells.sum() == 8 and cells[6:8, 4:8].all()  # bass pitch + duration rows, onset to the next onset
    cells = note_cells(gs.tokens, target, [(3, 4)], tables, context=1)
    assert cells[6:8, 0:12].all() and cells.sum() == 24
    # one width per note: the bass note alone, the tenor note with one neighbour either side
    cells = note_cells(gs.tokens, target, [(2, 4), (3, 4)], tables, context=[1, 0])
    assert cells[4:6, 0:12].all() and cells[6:8, 4:8].all() and cells.sum() == 32
    with pytest.raises(ValueError, match="context widths"):
        note_cells(gs.tokens, target, [(2, 4)], tables, context=[0, 1])
    ok = allowed_pitches(gs.tokens, tables, [0, 1, 2, 3], 3, 4)
    assert not ok[vocab.pitch_token([50]).token]  # the parallel itself is forbidden
    assert ok[vocab.pitch_token([52]).token] and not ok[1]  # another pitch is fine; <empty> never


def test_escalate_counts_rounds_in_a_row_at_the_same_spot():
    first = escalate([(2, 8), (3, 40)], {}, 16)
    assert first == {(2, 8): 1, (3, 40): 1}
    # the tenor spot offends again (its note re-divided: onset 12), the bass one is gone; a new spot far away
    second = escalate([(2, 12), (2, 60)], first, 16)
    assert second == {(2, 12): 2, (2, 60): 1}
    assert escalate([(2, 20), (3, 40)], second, 16) == {(2, 20): 3, (3, 40): 1}  # within reach of 12, not of 60
    assert escalate([(1, 12)], second, 16) == {(1, 12): 1}  # another track is another spot


def test_grid_frames_match_the_metric_on_generated_grids(setup):
    model, vocab, _ = setup
    scores = _scores(3)
    g, lengths, _ = batch_grids(model, scores)
    res = model.generate(g, ["alto", "tenor", "bass"], steps=4, seed=3, lengths=lengths, order="random")
    tables = TokenTables(vocab)
    for i in range(3):
        tok = res.tokens[i].numpy()
        dec = decode(GETScore(tok, model.track_names), vocab)
        frames = voice_frames(dec.score, VOICES)
        f, _ = grid_frames(tok, tables, [0, 1, 2, 3])
        assert np.array_equal(f[:, : frames.shape[1]], frames) and (f[:, frames.shape[1]:] == -1).all()
        assert offending_notes(tok, tables, [0, 1, 2, 3], {1, 2, 3})[0] == len(find_parallels(frames))


class _Counting:
    """A denoiser that counts its calls."""

    def __init__(self, inner):
        self.inner, self.prediction_kinds, self.calls = inner, inner.prediction_kinds, 0

    def __call__(self, state, condition=None, drop_condition=None):
        self.calls += 1
        return self.inner(state, condition, drop_condition)


@pytest.mark.parametrize("constrain", [False, True])
def test_repair_keeps_sources_and_rows_consistent(setup, constrain):
    model, vocab, hand = setup
    gs = encode(hand, vocab, VOICES)
    x = torch.from_numpy(gs.tokens)[None].repeat(2, 1, 1)
    target = model.target_mask(x, ["alto", "tenor", "bass"])
    target[1, 2:4] = False  # piece 1: the alto is a source too
    den = _Counting(model.denoiser)
    out, rep = repair_parallels(den, model.process, vocab, [0, 1, 2, 3], x, target,
                                RepairConfig(rounds=1, steps=3, context=1, constrain=constrain), order="confidence",
                                choice_noise=1.0, generator=torch.Generator().manual_seed(0))
    assert rep.nfe == den.calls  # counted by the core sampler, constrained round included
    assert torch.equal(out[~target], x[~target])  # sources (and padding) never change
    assert rep.rounds == 1 and rep.parallels[0] == 2 and rep.constrained == constrain
    tables = TokenTables(vocab)
    remask = np.stack([note_cells(gs.tokens, target[b].numpy(), [(2, 4), (3, 4)], tables, 1) for b in range(2)])
    assert not (out.numpy() != x.numpy())[~remask].any()  # only the re-masked cells can change
    if constrain:
        assert rep.nfe == 2 and rep.cells == [4]  # one note per piece per evaluation, two notes each
        assert rep.parallels[-1] == 0 or rep.unresolved > 0
        assert torch.equal(out[:, 1::2], x[:, 1::2])  # durations kept
    else:
        assert rep.nfe == 3 and rep.cells == [int(remask.sum())]
    for b in range(2):
        dec = decode(GETScore(out[b].numpy(), model.track_names), vocab)
        assert dec.missing_durations == 0 and dec.orphan_durations == 0
    # nothing to repair: no round, no evaluation
    clean = x.clone()
    clean[:, 4:8] = torch.from_numpy(encode(NoteScore([Track(n, [Note(4 * j, c[v], 4) for j, c in enumerate(
        [COLUMNS[0], COLUMNS[0], COLUMNS[2], COLUMNS[3]])]) for v, n in enumerate(VOICES)]), vocab, VOICES).tokens)[4:8]
    out2, rep2 = repair_parallels(model.denoiser, model.process, vocab, [0, 1, 2, 3], clean, target,
                                  RepairConfig(rounds=3))
    assert rep2.rounds == 0 and rep2.nfe == 0 and rep2.parallels == [0] and torch.equal(out2, clean)
    with pytest.raises(TypeError, match="RepairConfig"):
        repair_parallels(model.denoiser, model.process, vocab, [0, 1, 2, 3], x, target, {"rounds": 1})


def test_growing_window_still_touches_only_target_cells(setup):
    model, vocab, hand = setup
    gs = encode(hand, vocab, VOICES)
    x = torch.from_numpy(gs.tokens)[None].repeat(3, 1, 1)
    target = model.target_mask(x, ["tenor", "bass"])
    out, rep = repair_parallels(model.denoiser, model.process, vocab, [0, 1, 2, 3], x, target,
                                RepairConfig(rounds=4, steps=2, context=0, growth=2), order="random",
                                generator=torch.Generator().manual_seed(1))
    assert torch.equal(out[~target], x[~target])
    assert rep.nfe == 2 * rep.rounds and len(rep.parallels) == rep.rounds + 1


def test_no_worse_acceptance_never_adds_parallels(setup):
    model, vocab, _ = setup
    scores = _scores(3)
    g, lengths, _ = batch_grids(model, scores)
    gen = model.generate(g, ["alto", "tenor", "bass"], steps=3, seed=2, lengths=lengths, order="random")
    tables = TokenTables(vocab)
    voices = [0, 1, 2, 3]
    for seed in range(3):
        out, rep = repair_parallels(model.denoiser, model.process, vocab, voices, gen.tokens, gen.target_mask,
                                    RepairConfig(rounds=5, steps=2, accept="no-worse"), order="random",
                                    generator=torch.Generator().manual_seed(seed))
        assert all(a >= b for a, b in zip(rep.parallels, rep.parallels[1:]))  # per batch, hence per piece
        assert torch.equal(out[~gen.target_mask], gen.tokens[~gen.target_mask])
        final = sum(offending_notes(out[b].numpy(), tables, voices, {1, 2, 3})[0] for b in range(3))
        assert final == rep.parallels[-1]

def test_repair_config_validates_and_names_the_setting():
    cfg = RepairConfig(rounds=16, constrain=True)
    assert cfg.as_options() == {"repair_rounds": 16, "repair_steps": 4, "repair_context": 1,
                                "repair_constrain": True, "repair_growth": 0, "repair_accept": "all"}
    assert RepairConfig.from_options(cfg.as_options()) == cfg
    for kwargs, setting in ((dict(rounds=-1), "rounds"), (dict(steps=0), "steps"), (dict(context=-1), "context"),
                            (dict(growth=-1), "growth"), (dict(accept="best"), "accept"), (dict(steps=2.5), "steps")):
        with pytest.raises(RepairConfigError, match=setting) as err:
            RepairConfig(**kwargs)
        assert err.value.setting == setting
    with pytest.raises(TypeError, match="repair_stps"):
        RepairConfig.from_options({"repair_stps": 2})


def test_generate_and_cli_with_repair(setup, tmp_path):
    from typer.testing import CliRunner

    from morphogen.music.cli import app

    model, vocab, hand = setup
    scores = _scores(2)
    g, lengths, _ = batch_grids(model, scores)
    for order in ("confidence", "ancestral"):
        res = model.generate(g, ["alto", "bass"], steps=4, seed=1, lengths=lengths, order=order,
                             repair=RepairConfig(rounds=2, steps=2))
        assert torch.equal(res.tokens[:, [0, 1, 4, 5]], g[:, [0, 1, 4, 5]])
        assert res.repair.nfe == 2 * res.repair.rounds
        assert res.nfe == 4 + res.repair.nfe
    with pytest.raises(TypeError, match="RepairConfig"):
        model.generate(g, ["alto"], steps=2, repair={"repair_rounds": 1})
    ckpt = model.save(tmp_path / "tiny.safetensors")
    out = CliRunner().invoke(app, ["generate", "--checkpoint", str(ckpt), "--bars", "1", "--steps", "3", "--order",
                                   "confidence", "--repair-rounds", "2", "--repair-constrain", "--repair-growth", "1",
                                   "--repair-accept", "no-worse", "--out",
                                   str(tmp_path / "o")])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output[out.output.index("{"):])
    assert report["repair_rounds"] == 2 and report["repair_constrain"] is True and "repair" in report
    assert report["repair_growth"] == 1 and report["repair_accept"] == "no-worse"
    bad = CliRunner().invoke(app, ["generate", "--checkpoint", str(ckpt), "--repair-steps", "0", "--out",
                                   str(tmp_path)])
    assert bad.exit_code != 0 and "repair-steps" in bad.output
    bad = CliRunner().invoke(app, ["generate", "--checkpoint", str(ckpt), "--repair-accept", "best", "--out",
                                   str(tmp_path)])
    assert bad.exit_code != 0 and "repair-accept" in bad.output


def test_repair_refuses_a_model_whose_tracks_are_not_voices():
    import copy

    from morphogen.music.training import build_model, load_preset

    scores = _scores(2)
    preset = copy.deepcopy(load_preset("chorales"))
    preset.data["tracks"] = ["melody", "bass", "piano", "strings"]
    from morphogen.music.data import build_vocabulary

    vocab = build_vocabulary(scores, range(-1, 2), 16)
    model = build_model(preset, vocab, {"d_model": 32, "layers": 1, "heads": 2, "d_token": 8, "dropout": 0.0})
    model.repair = {}
    g = model.empty_grid(16)[None]
    with pytest.raises(ValueError, match="vocal part writing"):
        model.generate(g, ["bass"], steps=2, repair=RepairConfig(rounds=1))
    assert model.generate(g, ["bass"], steps=2).tokens.shape == g.shape  # without repair it generates
