"""Metrics on hand-made cases with known answers."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from morphogen.music.data import Note, NoteScore, Track
from morphogen.music.metrics import (HarmonizationMetrics, HistogramOverlap, chord_counts, crossing_counts,
                                     duration_histogram, is_chord, overlap, parallel_counts, pitch_class_histogram,
                                     range_counts, voice_frames)
from morphogen.music.metrics.nll import NLLMeter, NLLResult, nll_bound

VOICES = ["soprano", "alto", "tenor", "bass"]


def _score(columns: list[list[int]], dur: int = 4) -> NoteScore:
    """Block chords: column j of every voice lasts ``dur`` steps (-1 = rest)."""
    tracks = []
    for v, name in enumerate(VOICES):
        tracks.append(Track(name, [Note(j * dur, col[v], dur) for j, col in enumerate(columns) if col[v] >= 0]))
    return NoteScore(tracks)


def test_exactly_one_parallel_fifth():
    frames = np.array([[72, 74], [65, 67], [60, 60], [53, 50]])
    pc = parallel_counts(frames)
    assert (pc.fifths, pc.octaves, pc.transitions) == (1, 0, 6)
    assert pc.per_100 == pytest.approx(100 / 6)


def test_parallel_octave_and_contrary_fifths():
    # S/B octaves moving up together: one parallel octave; A/T fifths in contrary motion (67/60 -> 65/72... ) none
    frames = np.array([[72, 74], [67, 65], [55, 58], [48, 50]])
    pc = parallel_counts(frames)
    assert pc.octaves == 1 and pc.fifths == 0
    # repeated sonorities are merged, a rest breaks the chain
    frames = np.array([[72, 72, -1, 74], [65, 65, 65, 67], [60, 60, 60, 60], [53, 53, 53, 50]])
    assert parallel_counts(frames).transitions == 0


def test_crossings_and_chords_and_ranges():
    s = _score([[72, 64, 55, 48],   # C major triad
                [72, 74, 55, 48],   # alto above soprano: crossing; {C, D, G} not a chord
                [70, 64, 55, 48],   # C7
                [72, -1, -1, 48]])  # two voices: not counted for chords, not a full frame
    f = voice_frames(s, VOICES)
    assert f.shape == (4, 16)
    cc = crossing_counts(f)
    assert (cc.crossed, cc.frames) == (4, 12)
    ch = chord_counts(f)
    assert (ch.chords, ch.frames) == (8, 12)
    assert is_chord([60, 64, 67]) and is_chord([62, 65, 69, 72]) and not is_chord([60, 67])
    rc = range_counts({"soprano": [59, 60, 81, 82], "bass": [40]})
    assert rc.inside == {"soprano": 2, "bass": 1} and rc.share == pytest.approx(3 / 5)


def test_overlap_and_accumulator():
    assert overlap(np.array([1.0, 1.0, 0.0]), np.array([0.0, 2.0, 2.0])) == pytest.approx(0.5)
    assert math.isnan(overlap(np.zeros(3), np.ones(3)))
    h = HistogramOverlap()
    h.update(generated=[(60, 4), (62, 4)], reference=[(72, 4), (74, 8)])
    r = h.compute()
    assert r["pitch_class_overlap"] == pytest.approx(1.0) and r["duration_overlap"] == pytest.approx(0.5)


def test_harmonization_metrics_accumulate_counts():
    a = _score([[72, 64, 55, 48], [74, 65, 57, 50]])  # S/B parallel octave, T/B... counted once each piece
    m = HarmonizationMetrics(VOICES, ["alto", "tenor", "bass"])
    m.update(a, reference=a)
    m.update(a)
    r = m.compute()
    single = parallel_counts(voice_frames(a, VOICES))
    assert r.voice_transitions == 2 * single.transitions and r.pieces == 2
    assert r.parallels_per_100 == pytest.approx(single.per_100)
    assert r.range_share == 1.0 and r.pitch_class_overlap == pytest.approx(1.0)


def test_nll_bound_and_meter():
    from .music_helpers import _model, _scores

    scores = _scores(2)
    model, vocab = _model(scores)
    from morphogen.music.evaluation import batch_grids

    g, lengths, _ = batch_grids(model, scores)
    res = nll_bound(model, g, model.target_mask(g, VOICES, lengths), num_t=4)
    assert torch.isfinite(res.nats).all() and (res.nats > 0).all()
    assert torch.equal(res.frames, torch.tensor([64.0, 64.0], dtype=torch.float64))
    # an untrained network is near-uniform over the allowed tokens: the bound is near L * R * log(#allowed)
    none = nll_bound(model, g, torch.zeros_like(g, dtype=torch.bool), num_t=2)
    assert (none.nats == 0).all()
    meter = NLLMeter()
    meter.update(NLLResult(torch.tensor([10.0, 30.0]), torch.tensor([10.0, 10.0])))
    out = meter.compute()
    assert out["nll_nats_per_frame"] == pytest.approx(2.0) and out["nll_bits_per_frame"] == pytest.approx(2 / math.log(2))


def test_histogram_overlap_and_nll_meter_accumulate_like_their_pure_functions():
    from morphogen.testing import assert_metric

    gen1, ref1 = [(60, 4), (62, 4), (67, 2)], [(72, 4), (74, 8)]
    gen2, ref2 = [(65, 1), (61, 20)], [(60, 4)]
    gen, ref = gen1 + gen2, ref1 + ref2
    expected = {"pitch_class_overlap": overlap(pitch_class_histogram(p for p, _ in gen),
                                               pitch_class_histogram(p for p, _ in ref)),
                "duration_overlap": overlap(duration_histogram(d for _, d in gen),
                                            duration_histogram(d for _, d in ref))}
    assert_metric(HistogramOverlap, [(gen1, ref1), (gen2, ref2)], expected)
    a = NLLResult(torch.tensor([10.0, 30.0]), torch.tensor([10.0, 10.0]))
    b = NLLResult(torch.tensor([5.0]), torch.tensor([20.0]))
    npf = 45.0 / 40.0
    assert_metric(NLLMeter, [(a,), (b,)], {"nll_nats_per_frame": npf, "nll_bits_per_frame": npf / math.log(2),
                                           "frames": 40.0})
