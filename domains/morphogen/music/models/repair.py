"""Repairing parallel fifths and octaves with the model itself (blocked Gibbs resampling in the spirit of Coconet,
Huang et al. 2017).

After a generation has filled every target cell, each repair round

1. decodes the grid to voice frames (exactly what :func:`morphogen.music.metrics.voice_frames` gives for the
   decoded notes: the highest sounding pitch of each voice at each 16th step) and finds every parallel fifth and
   octave with :func:`morphogen.music.metrics.voice_leading.find_parallels` (the definition the metric counts);
   frames hold every non-drum track, sources included, so a parallel between a source and a target voice is found;
2. for each parallel, takes the note of each *target* voice of the pair that sounds at the second sonority (the
   note whose motion made the parallel; both voices move in a parallel), plus ``context`` notes before and after it
   in the same voice (1 by default: on the shipped chorale model, 3 rounds left 10 of 101 parallels, against 49 with
   0), and re-masks its cells: the pitch and duration rows from its onset up to the next onset of
   that voice (so the model may also re-divide the span, e.g. into two notes). Source tracks are never re-masked;
3. refills the re-masked cells with the core's ordered unmasking
   (:class:`morphogen.samplers.unmask.OrderedUnmasking` with the :class:`~morphogen.music.models.unmask.GETScoreRule`)
   in ``steps`` network evaluations, conditioned on everything else (the cells outside the targets are fixed with
   ``Inpaint``, the target cells not re-masked are its ``start``); each piece starts at the time whose keep
   probability is its share of target cells still shown.

A round runs only while some piece of the batch has a parallel; every round costs ``steps`` network evaluations
for the whole batch (counted by the sampler, summed in :class:`RepairReport`).

``constrain=True`` (off by default) turns the *last* round into a hard constraint instead: the pitch cell at the
onset of each offending target note (durations kept) is redrawn one note at a time (one network evaluation per note,
the pieces of a batch in parallel: the same sampler with one step, from the state with that one cell masked) from
the model's logits restricted to the pitch tokens that do not make a parallel involving that voice at the note's
start or end, given all other notes as they are then. ``<empty>`` is not allowed there (the duration stays). When no
token is allowed the note is left as it was (``unresolved``; an evaluation in which no piece has a note to redraw is
skipped). This is a rule-based filter on top of the model: results that use it must say so.

The settings of the stage are a :class:`RepairConfig`; the refills sample with the generation's order, temperature
and choice noise.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from morphogen.guidance.inpaint import Inpaint
from morphogen.music.data.vocabulary import EMPTY, Vocabulary
from morphogen.music.metrics.voice_leading import find_parallels
from morphogen.music.models.unmask import NEG, GETScoreRule
from morphogen.processes.joint import JointProcess
from morphogen.samplers.unmask import OrderedUnmasking


@dataclass
class RepairReport:
    """What the repair did, summed over the pieces of a batch.

    Attributes:
        rounds: rounds run (a round runs only while some piece has a parallel).
        nfe: network evaluations spent by the repair (whole batch per evaluation).
        parallels: parallel fifths + octaves found before each round, then after the last one (length rounds + 1).
        cells: cells re-masked in each round.
        constrained: whether the last round was the constrained one.
        unresolved: constrained round: notes for which every pitch token would make a parallel (left unchanged).
        reverted: ``accept="no-worse"``: refills of a piece undone because they had more parallels.
    """

    rounds: int = 0
    nfe: int = 0
    parallels: list[int] = field(default_factory=list)
    cells: list[int] = field(default_factory=list)
    constrained: bool = False
    unresolved: int = 0
    reverted: int = 0

    def as_dict(self) -> dict:
        return {"rounds": self.rounds, "nfe": self.nfe, "parallels": list(self.parallels), "cells": list(self.cells),
                "constrained": self.constrained, "unresolved": self.unresolved, "reverted": self.reverted}


#: what a repair round keeps: every refill, or only refills that do not add parallels to their piece
ACCEPT = ("all", "no-worse")
#: columns (16th notes) within which an offending note counts as the same spot as one of the previous round
BAR = 16


class TokenTables:
    """Per token id (the mask id included): the highest pitch of a pitch token (-1 otherwise) and the duration of a
    duration token (0 otherwise)."""

    def __init__(self, vocab: Vocabulary):
        n = len(vocab) + 1
        self.top = np.full(n, -1, dtype=np.int64)
        self.duration = np.zeros(n, dtype=np.int64)
        for t in range(len(vocab)):
            if vocab.is_pitch(t):
                self.top[t] = max(vocab.pitches_of(t))
            elif vocab.is_duration(t):
                self.duration[t] = vocab.duration_of(t)
        self.max_duration = vocab.max_duration
        self.pitch_values = np.unique(self.top[self.top >= 0])


def grid_frames(tokens: np.ndarray, tables: TokenTables, tracks: list[int],
                length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Voice frames of a grid (R, L): (frames, owner), each (len(tracks), length) int64; ``frames`` as
    :func:`voice_frames` of the decoded notes (a pitch without a duration token lasts one step, as
    :func:`decode` writes it), ``owner`` the onset column of the note that sounds there (-1 when silent).
    ``length`` defaults to L + the longest duration, so notes running past the grid are kept whole."""
    length = tokens.shape[1] + tables.max_duration if length is None else int(length)
    frames = np.full((len(tracks), length), -1, dtype=np.int64)
    owner = np.full((len(tracks), length), -1, dtype=np.int64)
    for v, k in enumerate(tracks):
        prow, drow = tokens[2 * k], tokens[2 * k + 1]
        for c in np.flatnonzero(tables.top[prow] >= 0):
            p, d = tables.top[prow[c]], max(int(tables.duration[drow[c]]), 1)
            seg = slice(c, min(c + d, length))
            higher = frames[v, seg] <= p
            frames[v, seg] = np.where(higher, p, frames[v, seg])
            owner[v, seg] = np.where(higher, c, owner[v, seg])
    return frames, owner


def offending_notes(tokens: np.ndarray, tables: TokenTables, tracks: list[int],
                    target_tracks: set[int]) -> tuple[int, list[tuple[int, int]]]:
    """(number of parallels, sorted distinct (track, onset column) of the target-voice notes sounding at the second
    sonority of a parallel) for one grid (R, L). ``tracks``: the grid's track indices that are voices (top first)."""
    frames, owner = grid_frames(tokens, tables, tracks)
    events = find_parallels(frames)
    notes = set()
    for e in events:
        for v in (e.upper, e.lower):
            if tracks[v] in target_tracks and owner[v, e.after] >= 0:
                notes.add((tracks[v], int(owner[v, e.after])))
    return len(events), sorted(notes)


def note_cells(tokens: np.ndarray, target: np.ndarray, notes: list[tuple[int, int]], tables: TokenTables,
               context: int | Sequence[int] = 0) -> np.ndarray:
    """(R, L) bool: the pitch and duration cells of each note (track, onset) and of ``context`` notes either side of
    it in the same track (one number for all notes, or one per note), from its onset to the next onset of the track,
    inside ``target`` (R, L)."""
    ctx = [int(context)] * len(notes) if np.isscalar(context) else [int(c) for c in context]
    if len(ctx) != len(notes):
        raise ValueError(f"{len(notes)} notes but {len(ctx)} context widths")
    out = np.zeros(tokens.shape, dtype=bool)
    for (k, c), w in zip(notes, ctx):
        onsets = np.flatnonzero(tables.top[tokens[2 * k]] >= 0)
        i = int(np.searchsorted(onsets, c))
        for j in range(max(i - w, 0), min(i + w + 1, len(onsets))):
            stop = onsets[j + 1] if j + 1 < len(onsets) else tokens.shape[1]
            out[2 * k: 2 * k + 2, onsets[j]: stop] = True
    return out & target


def escalate(notes: list[tuple[int, int]], previous: dict[tuple[int, int], int], reach: int
             ) -> dict[tuple[int, int], int]:
    """Strikes of this round's offending notes: 1 + the most strikes of a note of the same track that offended in
    the previous round with its onset within ``reach`` columns (the same spot, possibly re-divided), else 1."""
    out = {}
    for k, c in notes:
        near = [n for (kk, cc), n in previous.items() if kk == k and abs(cc - c) <= reach]
        out[(k, c)] = 1 + max(near, default=0)
    return out


def allowed_pitches(tokens: np.ndarray, tables: TokenTables, tracks: list[int], k: int, c: int) -> np.ndarray:
    """(V,) bool over token ids: the pitch tokens that, placed at onset ``c`` of track ``k`` (its duration cell
    kept), make no parallel involving that voice at the note's start or end, the rest of the grid as it is."""
    v = tracks.index(k)
    without = tokens.copy()
    without[2 * k, c] = EMPTY
    frames, _ = grid_frames(without, tables, tracks)
    d = max(int(tables.duration[tokens[2 * k + 1, c]]), 1)
    lo, hi = max(c - 1, 0), min(c + d + 1, frames.shape[1])
    bad = set()
    for p in tables.pitch_values:
        w = frames[:, lo:hi].copy()
        seg = slice(c - lo, min(c + d, hi) - lo)
        w[v, seg] = np.maximum(w[v, seg], p)
        if any(v in (e.upper, e.lower) for e in find_parallels(w)):
            bad.add(int(p))
    ok = tables.top >= 0
    if bad:
        ok &= ~np.isin(tables.top, list(bad))
    return ok[:-1]  # drop the mask id


class RepairConfigError(ValueError):
    """A repair setting out of range; ``setting`` names the :class:`RepairConfig` field."""

    def __init__(self, setting: str, message: str):
        super().__init__(message)
        self.setting = setting


@dataclass(frozen=True)
class RepairConfig:
    """The settings of the repair stage (module documentation).

    Attributes:
        rounds: rounds at most (0 = no repair); a round runs only while some piece has a parallel.
        steps: network evaluations per unconstrained round (>= 1).
        context: notes either side of an offending note re-masked with it (>= 0).
        constrain: make the last round the constrained one.
        growth: extra notes either side per earlier round in a row in which the same spot (same track, onset within
            a bar) held a parallel: a stubborn parallel gets a wider window each round (0 = fixed ``context``).
        accept: ``"all"`` (every refill is kept: the model alone) or ``"no-worse"`` (a piece whose refill has more
            parallels than before the round goes back to its previous grid: the model proposes, the parallel count
            decides; results that use it must say so).
    """

    rounds: int = 0
    steps: int = 4
    context: int = 1
    constrain: bool = False
    growth: int = 0
    accept: str = "all"

    def __post_init__(self):
        if self.accept not in ACCEPT:
            raise RepairConfigError("accept", f"repair accept must be one of {ACCEPT}, got {self.accept!r}")
        for name, least in (("rounds", 0), ("steps", 1), ("context", 0), ("growth", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise RepairConfigError(name, f"repair {name} must be an integer, got {value!r}")
            if value < least:
                raise RepairConfigError(name, f"repair {name} must be >= {least}, got {value}")

    def as_options(self) -> dict:
        """The settings under the names of the command-line options (``repair_rounds``, ...), as reports list them."""
        return {f"repair_{k}": v for k, v in asdict(self).items()}

    @classmethod
    def from_options(cls, options: Mapping) -> "RepairConfig":
        """From ``repair_*`` keys (those of :meth:`as_options`; missing ones take their defaults)."""
        names = {f"repair_{k}" for k in cls.__dataclass_fields__}
        unknown = [k for k in options if k not in names]
        if unknown:
            raise TypeError(f"unknown repair options {unknown}; known: {sorted(cls().as_options())}")
        return cls(**{k[len("repair_"):]: v for k, v in options.items()})


@torch.no_grad()
def repair_parallels(denoiser, joint: JointProcess, vocab: Vocabulary, voice_tracks: list[int], x: Tensor,
                     target: Tensor, config: RepairConfig, *, order: str = "confidence", temperature: float = 1.0,
                     choice_noise: float = 0.0, generator: torch.Generator | None = None, field: str = "tokens"
                     ) -> tuple[Tensor, RepairReport]:
    """Run up to ``config.rounds`` repair rounds (module documentation) on complete grids.

    Args:
        denoiser: the GETScore denoiser of ``joint``.
        joint: the joint process ({field: MaskedDiffusion}).
        vocab: the vocabulary of the grids.
        voice_tracks: the track indices taking part in voice leading, top first (non-drum tracks).
        x: (B, R, L) long, generated grids (no mask tokens in ``target``).
        target: (B, R, L) bool, the generated cells (only these are ever re-masked).
        config: the repair settings.
        order, temperature, choice_noise: the refills' :class:`OrderedUnmasking` settings (``choice_noise`` for
            order "confidence" only); the constrained round draws with ``temperature``.
        generator: random source (on the device of ``x``).
        field: the name of the GETScore field.
    Returns:
        the repaired grids (B, R, L) and a :class:`RepairReport`.
    """
    if not isinstance(config, RepairConfig):
        raise TypeError(f"config must be a RepairConfig, got {type(config).__name__}")
    refill = OrderedUnmasking(config.steps, order, choice_noise, temperature, rule=GETScoreRule(field))
    tables = TokenTables(vocab)
    k = joint[field].mask_id
    rep = RepairReport()
    x = x.clone()
    tgt_np = target.cpu().numpy()
    target_tracks = [set(np.flatnonzero(tgt_np[b, 0::2].any(axis=1)).tolist()) for b in range(x.shape[0])]
    strikes: list[dict] = [{} for _ in range(x.shape[0])]
    before = None
    for r in range(config.rounds + 1):
        xs = x.cpu().numpy()
        found = [offending_notes(xs[b], tables, voice_tracks, target_tracks[b]) for b in range(x.shape[0])]
        if config.accept == "no-worse" and before is not None:
            prev_x, prev_found = before
            for b in range(x.shape[0]):
                if found[b][0] > prev_found[b][0]:
                    x[b], found[b] = prev_x[b], prev_found[b]
                    rep.reverted += 1
            xs = x.cpu().numpy()
        rep.parallels.append(sum(n for n, _ in found))
        if r == config.rounds or not any(notes for _, notes in found):
            break
        rep.rounds += 1
        if config.constrain and r == config.rounds - 1:
            before = None
            rep.constrained = True
            x, nfe, unresolved, cells = _constrained_round(denoiser, joint, field, tables, voice_tracks, x, target,
                                                           [notes for _, notes in found], temperature, generator)
            rep.nfe, rep.unresolved = rep.nfe + nfe, unresolved
            rep.cells.append(cells)
            continue
        strikes = [escalate(found[b][1], strikes[b], BAR) for b in range(x.shape[0])]
        widths = [[config.context + config.growth * (strikes[b][n] - 1) for n in found[b][1]]
                  for b in range(x.shape[0])]
        remask = np.stack([note_cells(xs[b], tgt_np[b], found[b][1], tables, widths[b]) for b in range(x.shape[0])])
        rep.cells.append(int(remask.sum()))
        start = torch.where(torch.from_numpy(remask).to(x.device), torch.full_like(x, k), x)
        before = (x.clone(), found)
        x, nfe = _refill(refill, denoiser, joint, field, x, target, start, generator)
        rep.nfe += nfe
    return x, rep


def _refill(sampler: OrderedUnmasking, denoiser, joint: JointProcess, field: str, x: Tensor, target: Tensor,
            start: Tensor, generator) -> tuple[Tensor, int]:
    """Fill the masked target cells of ``start`` (B, R, L) with ``sampler``, every cell outside ``target`` fixed to
    ``x``: (grids (B, R, L), network evaluations)."""
    fixed = Inpaint({field: x}, {field: ~target}, mode="clean")
    res = sampler.sample(joint, denoiser, {field: tuple(x.shape)}, masks={field: target}, fixed=fixed,
                         generator=generator, device=x.device, start={field: start})
    return res.fields[field], res.nfe


class PitchChoices(GETScoreRule):
    """The GETScore rule, and at some cells only some tokens (the constrained round's allowed pitches).

    Args:
        cells: (M, 3) long, (piece, row, column) of each restricted cell.
        allowed: (M, V) bool, the tokens each may take.
        field: the GETScore field.
    """

    def __init__(self, cells: Tensor, allowed: Tensor, field: str = "tokens"):
        super().__init__(field)
        self.cells, self.allowed = cells.long(), allowed.bool()

    def restrict(self, field, x, masked, logits):
        out = super().restrict(field, x, masked, logits)
        if field != self.field or not len(self.cells):
            return out
        b, r, c = self.cells.to(logits.device).T
        out = out.clone() if out is logits else out
        out[b, r, c] = torch.where(self.allowed.to(logits.device), out[b, r, c], torch.full_like(out[b, r, c], NEG))
        return out


def _constrained_round(denoiser, joint, field, tables, voice_tracks, x, target, notes, temperature, generator):
    """One note per piece per network evaluation: redraw its onset pitch among the allowed tokens."""
    k = joint[field].mask_id
    nfe = unresolved = cells = 0
    for it in range(max(len(n) for n in notes)):
        xs = x.cpu().numpy()
        where, allowed = [], []
        for i in range(x.shape[0]):
            if it >= len(notes[i]):
                continue
            kk, c = notes[i][it]
            cells += 1
            ok = allowed_pitches(xs[i], tables, voice_tracks, kk, c)
            if not ok.any():
                unresolved += 1
                continue
            where.append((i, 2 * kk, c))
            allowed.append(ok)
        if not where:
            continue
        idx = torch.tensor(where, dtype=torch.long, device=x.device)
        start = x.clone()
        start[idx[:, 0], idx[:, 1], idx[:, 2]] = k
        redraw = OrderedUnmasking(1, "random", 0.0, temperature,
                                  rule=PitchChoices(idx, torch.from_numpy(np.stack(allowed)).to(x.device), field))
        x, n = _refill(redraw, denoiser, joint, field, x, target, start, generator)
        nfe += n
    return x, nfe, unresolved, cells
