"""The chord track GETMusic adds to multi-track scores, inferred from the other tracks.

Per beat (4 sixteenths) the pitch classes sounding in the pitched (non-drum) tracks are weighted by how many steps
they sound in that beat; the chord whose template (12 roots x major, minor, diminished, augmented, dominant 7th,
major 7th, minor 7th) scores best (weight inside the template minus weight outside, a tie going to the simpler chord
that comes first in :data:`QUALITIES`) is that beat's chord. Beats with no pitched note have no chord. Repeated
chords on consecutive beats merge into one longer chord. A chord is written as its pitches voiced upwards from the
root in the octave of MIDI 48-59 (C3-B3). GETMusic infers chords with a similar template matcher (per half-bar in its
code); this beat-level matcher is our choice and is stated here.
"""
from __future__ import annotations

import numpy as np

from morphogen.music.data.notes import Note, Track

QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8),
    "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10),
}


def pitch_class_weights(tracks: list[Track], end: int) -> np.ndarray:
    """(end, 12) how many notes of each pitch class sound at each step (drum tracks ignored)."""
    w = np.zeros((max(end, 0), 12))
    for t in tracks:
        if t.is_drum:
            continue
        for n in t.notes:
            w[n.onset: n.onset + n.duration, n.pitch % 12] += 1
    return w


def best_chord(hist: np.ndarray) -> tuple[int, str] | None:
    """(root pitch class, quality) best matching a 12-bin weight histogram, or None if it is all zero."""
    total = float(hist.sum())
    if total <= 0:
        return None
    best, best_score = None, -np.inf
    for quality, ivs in QUALITIES.items():
        for root in range(12):
            pcs = [(root + i) % 12 for i in ivs]
            inside = float(hist[pcs].sum())
            score = inside - (total - inside)
            if score > best_score + 1e-9:
                best, best_score = (root, quality), score
    return best


def chord_pitches(root: int, quality: str) -> list[int]:
    return [48 + root + i for i in QUALITIES[quality]]


def infer_chord_track(tracks: list[Track], end: int, beat: int = 4, name: str = "chord") -> Track:
    """The chord track of a multi-track score (see the module docstring)."""
    w = pitch_class_weights(tracks, end)
    notes: list[Note] = []
    prev, start = None, 0
    for b0 in range(0, end, beat):
        chord = best_chord(w[b0: b0 + beat].sum(axis=0))
        if chord != prev:
            if prev is not None:
                notes.extend(Note(start, p, b0 - start) for p in chord_pitches(*prev))
            prev, start = chord, b0
    if prev is not None:
        stop = -(-end // beat) * beat
        notes.extend(Note(start, p, stop - start) for p in chord_pitches(*prev))
    return Track(name, sorted(notes), program=0, is_drum=False)
