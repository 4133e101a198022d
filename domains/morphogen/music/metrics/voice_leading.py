"""Voice-leading metrics of four-part harmonisations.

Voice ranges (MIDI, inclusive; the usual textbook SATB ranges, e.g. Aldwell & Schachter, widened by a step at the
edges Bach uses): soprano C4-A5 (60-81), alto F3-D5 (53-74), tenor C3-A4 (48-69), bass E2-D4 (40-62).

Parallel perfect intervals: the frames where every voice sounds are reduced to the sequence of successive distinct
sonorities (a silent voice breaks the sequence). A *voice transition* is one voice pair (6 pairs in four parts) across
one change of sonority in which at least one of the two voices moves. It is a parallel fifth (octave) when the
interval between the two voices is a fifth (an octave or unison), modulo the octave, before and after, and both
voices move in the same direction. Rates are per 100 voice transitions.

Voice crossing: a frame with every voice sounding in which some voice is below the voice under it (adjacent pairs
S/A, A/T, T/B); the rate is the percentage of such frames.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VOICE_RANGES: dict[str, tuple[int, int]] = {"soprano": (60, 81), "alto": (53, 74), "tenor": (48, 69), "bass": (40, 62)}


@dataclass
class RangeCounts:
    """Notes inside their voice's range, per voice and in all: ``inside[v] / total[v]``."""

    inside: dict[str, int]
    total: dict[str, int]

    @property
    def share(self) -> float:
        t = sum(self.total.values())
        return sum(self.inside.values()) / t if t else float("nan")


def range_counts(notes_by_voice: dict[str, list[int]], ranges: dict[str, tuple[int, int]] | None = None) -> RangeCounts:
    """Count the pitches of each voice that lie inside its range (voices without a range are skipped)."""
    ranges = ranges or VOICE_RANGES
    inside, total = {}, {}
    for v, pitches in notes_by_voice.items():
        if v not in ranges:
            continue
        lo, hi = ranges[v]
        inside[v] = sum(lo <= p <= hi for p in pitches)
        total[v] = len(pitches)
    return RangeCounts(inside, total)


def sonority_runs(frames: np.ndarray) -> list[list[tuple[int, np.ndarray]]]:
    """Runs of successive distinct sonorities from frames (V, L), each sonority as (the column where it starts, its
    pitches (V,)); a frame with a silent voice ends a run. Runs of a single sonority are left out."""
    runs, cur = [], []
    for j in range(frames.shape[1]):
        col = frames[:, j]
        if (col < 0).any():
            if len(cur) > 1:
                runs.append(cur)
            cur = []
            continue
        if not cur or (col != cur[-1][1]).any():
            cur.append((j, col))
    if len(cur) > 1:
        runs.append(cur)
    return runs


def sonorities(frames: np.ndarray) -> list[list[np.ndarray]]:
    """Runs of successive distinct sonorities (each (V,)) from frames (V, L); a frame with a silent voice ends a run."""
    return [[col for _, col in run] for run in sonority_runs(frames)]


@dataclass(frozen=True)
class Parallel:
    """One parallel perfect interval: ``kind`` "fifth" or "octave" between voices ``upper`` < ``lower`` (row indices
    of the frames, top first), moving from the sonority starting at column ``before`` to the one starting at column
    ``after`` (both voices move, in the same direction)."""

    kind: str
    upper: int
    lower: int
    before: int
    after: int


def _transitions(frames: np.ndarray):
    """Yield (i, j, column before, column after, parallel kind or None) for every voice transition (module docstring):
    the one definition behind :func:`parallel_counts` and :func:`find_parallels`."""
    v = frames.shape[0]
    for run in sonority_runs(frames):
        for (ca, a), (cb, b) in zip(run[:-1], run[1:]):
            for i in range(v):
                for j in range(i + 1, v):
                    mi, mj = int(b[i] - a[i]), int(b[j] - a[j])
                    if mi == 0 and mj == 0:
                        continue
                    kind = None
                    if mi != 0 and mj != 0 and (mi > 0) == (mj > 0):
                        before, after = abs(int(a[i] - a[j])) % 12, abs(int(b[i] - b[j])) % 12
                        if before == after == 7:
                            kind = "fifth"
                        elif before == after == 0:
                            kind = "octave"
                    yield i, j, ca, cb, kind


def find_parallels(frames: np.ndarray) -> list[Parallel]:
    """Every parallel fifth and octave of frames (V, L), voices top first, in time order (the events
    :func:`parallel_counts` counts)."""
    return [Parallel(kind, i, j, ca, cb) for i, j, ca, cb, kind in _transitions(frames) if kind is not None]


@dataclass
class ParallelCounts:
    """Parallel fifths and octaves and the number of voice transitions they are counted among."""

    fifths: int
    octaves: int
    transitions: int

    @property
    def per_100(self) -> float:
        """Parallel fifths + octaves per 100 voice transitions."""
        return 100.0 * (self.fifths + self.octaves) / self.transitions if self.transitions else float("nan")


def parallel_counts(frames: np.ndarray) -> ParallelCounts:
    """Parallel fifths / octaves of frames (V, L), voices top first (see the module docstring)."""
    fifths = octaves = transitions = 0
    for *_, kind in _transitions(frames):
        transitions += 1
        fifths += kind == "fifth"
        octaves += kind == "octave"
    return ParallelCounts(fifths, octaves, transitions)


@dataclass
class CrossingCounts:
    """Frames with a voice crossing among the frames where every voice sounds."""

    crossed: int
    frames: int

    @property
    def percent(self) -> float:
        return 100.0 * self.crossed / self.frames if self.frames else float("nan")


def crossing_counts(frames: np.ndarray) -> CrossingCounts:
    full = (frames >= 0).all(axis=0)
    f = frames[:, full]
    crossed = (f[1:] > f[:-1]).any(axis=0) if f.shape[0] > 1 else np.zeros(f.shape[1], dtype=bool)
    return CrossingCounts(int(crossed.sum()), int(full.sum()))
