"""Share of time steps whose sounding pitch classes form a triad or a seventh chord.

A frame (16th step) counts when at least three voices sound. It is a chord when its set of pitch classes equals,
for some root, one of: major, minor, diminished, augmented triad; major 7th, dominant 7th, minor 7th, half-diminished
7th, diminished 7th. Incomplete chords (a seventh without its fifth, a bare fifth) and added non-chord tones do not
count: passing and neighbour notes lower the share in Bach too, which is why the reference row matters.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHORD_TEMPLATES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8),
    "maj7": (0, 4, 7, 11), "7": (0, 4, 7, 10), "min7": (0, 3, 7, 10), "hdim7": (0, 3, 6, 10), "dim7": (0, 3, 6, 9),
}
CHORD_SETS: frozenset[frozenset[int]] = frozenset(
    frozenset((r + i) % 12 for i in ivs) for ivs in CHORD_TEMPLATES.values() for r in range(12))


def is_chord(pitch_classes) -> bool:
    """True when the set of pitch classes is exactly a triad or seventh chord of :data:`CHORD_TEMPLATES`."""
    return frozenset(int(p) % 12 for p in pitch_classes) in CHORD_SETS


@dataclass
class ChordCounts:
    chords: int
    frames: int

    @property
    def share(self) -> float:
        return self.chords / self.frames if self.frames else float("nan")


def chord_counts(frames: np.ndarray, min_voices: int = 3) -> ChordCounts:
    """Count frames (columns of (V, L), -1 = silent) with >= ``min_voices`` sounding that form a chord."""
    chords = total = 0
    for j in range(frames.shape[1]):
        col = frames[:, j]
        sounding = col[col >= 0]
        if len(sounding) < min_voices:
            continue
        total += 1
        chords += is_chord(sounding)
    return ChordCounts(chords, total)
