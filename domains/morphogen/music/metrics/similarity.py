"""GETMusic-style similarity: the overlapping area of two normalised histograms, sum_k min(p_k, q_k), in [0, 1].

Pitch-class histograms have 12 bins; duration histograms have bins 1 .. 16 sixteenths plus one bin for anything
longer. GETMusic compares the generated tracks with the ground-truth tracks; here the histograms are accumulated over
a whole set (generated target voices vs the same voices of the reference pieces).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

DURATION_BINS = 17


def pitch_class_histogram(pitches: Iterable[int]) -> np.ndarray:
    return np.bincount(np.asarray(list(pitches), dtype=np.int64) % 12, minlength=12).astype(float)


def duration_histogram(durations: Iterable[int]) -> np.ndarray:
    d = np.clip(np.asarray(list(durations), dtype=np.int64), 1, DURATION_BINS) - 1
    return np.bincount(d, minlength=DURATION_BINS).astype(float)


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Overlapping area of the normalised histograms a and b (nan if either is empty)."""
    sa, sb = float(np.sum(a)), float(np.sum(b))
    if sa <= 0 or sb <= 0:
        return float("nan")
    return float(np.minimum(np.asarray(a) / sa, np.asarray(b) / sb).sum())


class HistogramOverlap:
    """Accumulates pitch-class and duration counts of a generated set and a reference set."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.gen_pc, self.ref_pc = np.zeros(12), np.zeros(12)
        self.gen_dur, self.ref_dur = np.zeros(DURATION_BINS), np.zeros(DURATION_BINS)

    def update(self, generated: list[tuple[int, int]] | None = None, reference: list[tuple[int, int]] | None = None):
        """Add notes given as (pitch, duration) pairs."""
        if generated:
            self.gen_pc += pitch_class_histogram(p for p, _ in generated)
            self.gen_dur += duration_histogram(d for _, d in generated)
        if reference:
            self.ref_pc += pitch_class_histogram(p for p, _ in reference)
            self.ref_dur += duration_histogram(d for _, d in reference)

    def compute(self) -> dict[str, float]:
        return {"pitch_class_overlap": overlap(self.gen_pc, self.ref_pc),
                "duration_overlap": overlap(self.gen_dur, self.ref_dur)}
