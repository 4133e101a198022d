"""Training data: GETScore crops with transposition augmentation and a random choice of target tracks.

An item is ``{"fields": {"tokens": (R, L) long}, "masks": {"tokens": (R, L) bool}}`` (the core's batch format), with
R = 2 x number of tracks. The mask marks the entries that take part in the masked diffusion: the pitch and
duration rows of the *target* tracks, inside the piece. Everything else (source tracks, absent tracks, columns past
the end) stays clean: the process never corrupts it and the loss never counts it, as in GETMusic's training where the
source tracks are given and only the targets are masked.
"""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from morphogen.music.data.getscore import encode
from morphogen.music.data.notes import NoteScore
from morphogen.music.data.vocabulary import PAD, Vocabulary
from morphogen.train.data import EpochShuffleSampler

FIELD = "tokens"


def _shifts_for(score: NoteScore, transpositions: Sequence[int]) -> list[int]:
    pitched = [n.pitch for t in score.tracks if not t.is_drum for n in t.notes]
    if not pitched:
        return [0]
    lo, hi = min(pitched), max(pitched)
    return [s for s in transpositions if 0 <= lo + s and hi + s <= 127] or [0]


def build_vocabulary(scores: Sequence[NoteScore], transpositions: Sequence[int] = (0,), max_duration: int = 64,
                     min_count: int = 1) -> Vocabulary:
    """A vocabulary holding every onset group of ``scores`` under every transposition (see
    :meth:`Vocabulary.from_pitch_sets`)."""
    sets = []
    for s in scores:
        for shift in _shifts_for(s, transpositions):
            for t in s.tracks:
                groups: dict[int, list[int]] = {}
                for n in t.notes:
                    groups.setdefault(n.onset, []).append(n.pitch if t.is_drum else n.pitch + shift)
                sets.extend((tuple(ps), t.is_drum) for ps in groups.values())
    return Vocabulary.from_pitch_sets(sets, max_duration, min_count)


def choose_targets(present: np.ndarray, rng: np.random.Generator, p_all: float = 0.2) -> np.ndarray:
    """(num_tracks,) bool: the target tracks of one training item. With probability ``p_all`` every present track
    (unconditional generation); otherwise each present track independently with probability 1/2, at least one."""
    idx = np.flatnonzero(present)
    targets = np.zeros_like(present, dtype=bool)
    if len(idx) == 0:
        return targets
    if rng.random() < p_all:
        targets[idx] = True
        return targets
    while not targets.any():
        targets[idx] = rng.random(len(idx)) < 0.5
    return targets


class GETScoreDataset(Dataset):
    """Crops of ``length`` columns from GETScores, one item per (score, draw).

    Args:
        scores: the pieces.
        vocab: their vocabulary (it must hold every transposed onset group: see :func:`build_vocabulary`).
        track_names: the model's tracks, top first.
        length: columns per item (a multiple of the bar length is usual: 64 = 4 bars of 4/4).
        transpositions: semitone shifts drawn uniformly per item (pitched tracks only); shifts that would leave the
            MIDI range are not used for that piece.
        items_per_score: draws per score in one epoch.
        random_crop: crops start at a random bar (else at 0); pieces shorter than ``length`` are padded.
        targets: fixed target track names (validation, e.g. harmonisation ``["alto", "tenor", "bass"]``), or None to
            draw them with :func:`choose_targets`.
        p_all: probability of an item with every track as target.
        drum_tracks: tracks encoded with drum tokens (default: those the scores mark as drums).
        nearest: encode pitch sets the vocabulary lacks by their largest known subset (counted in :attr:`report`).
        seed: item i's n-th draw uses a ``numpy`` generator seeded by (seed, i, n), so each epoch sees new crops,
            transpositions and targets and a run repeats exactly. The draw number n is part of the index: index
            ``n * len(self) + i`` is item i's n-th draw (what :class:`DrawSampler` yields in epoch n). That holds in
            DataLoader worker processes too, where a counter kept in the dataset would be a per-worker copy
            (repeating the same crops every epoch). Plain indices below ``len(self)`` are draw 0.
    """

    def __init__(self, scores: Sequence[NoteScore], vocab: Vocabulary, track_names: Sequence[str], length: int = 64,
                 transpositions: Sequence[int] = (0,), items_per_score: int = 1, random_crop: bool = True,
                 targets: Sequence[str] | None = None, p_all: float = 0.2, seed: int = 0,
                 drum_tracks: Sequence[str] | None = None, nearest: bool = False):
        if not scores:
            raise ValueError("GETScoreDataset needs at least one score")
        self.vocab, self.track_names, self.length = vocab, list(track_names), int(length)
        self.items_per_score, self.random_crop, self.p_all, self.seed = int(items_per_score), random_crop, p_all, seed
        bad = [t for t in (targets or []) if t not in self.track_names]
        if bad:
            raise ValueError(f"target tracks {bad} are not among {self.track_names}")
        self.targets = None if targets is None else np.array([t in targets for t in self.track_names])
        self.bar = scores[0].steps_per_bar
        self.grids: list[list[np.ndarray]] = []  # per score, per usable shift
        self.report: dict[str, int] = {}
        for s in scores:
            versions = []
            for k in _shifts_for(s, transpositions):
                gs = encode(s.transpose(k), vocab, self.track_names, drum_tracks, nearest=nearest)
                versions.append(gs.tokens)
                for key, n in gs.report.items():
                    self.report[key] = self.report.get(key, 0) + n
            self.grids.append(versions)

    def __len__(self) -> int:
        return len(self.grids) * self.items_per_score

    def __getitem__(self, index: int) -> dict:
        n, i = divmod(int(index), len(self))
        rng = np.random.default_rng([self.seed, i, n])
        versions = self.grids[i // self.items_per_score]
        grid = versions[rng.integers(len(versions))] if len(versions) > 1 else versions[0]
        total = grid.shape[1]
        start = 0
        if self.random_crop and total > self.length:
            start = int(rng.integers(0, (total - self.length) // self.bar + 1)) * self.bar
        crop = np.full((grid.shape[0], self.length), PAD, dtype=np.int64)
        piece = grid[:, start: start + self.length]
        crop[:, : piece.shape[1]] = piece
        present = (crop[0::2] != PAD).any(axis=1)
        targets = choose_targets(present, rng, self.p_all) if self.targets is None else self.targets & present
        mask = np.repeat(targets, 2)[:, None] & (crop != PAD)
        return {"fields": {FIELD: torch.from_numpy(crop)}, "masks": {FIELD: torch.from_numpy(mask)}}


class DrawSampler(EpochShuffleSampler):
    """The indices of one epoch of a :class:`GETScoreDataset`: a permutation of its ``n`` items drawn from (seed,
    epoch), each index carrying the epoch as its draw number (``epoch * n + i``), so every epoch draws new crops in
    the main process and in worker processes alike. Lightning calls :meth:`set_epoch` (resumed runs repeat)."""

    def __iter__(self) -> Iterator[int]:
        base = self.epoch * self.n
        return iter(base + i for i in super().__iter__())
