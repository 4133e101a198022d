"""Harmonising and evaluating whole pieces with a trained model (used by the CLI, the demo and benchmarks)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch

from morphogen.music.data.getscore import GETScore, decode, encode
from morphogen.music.data.notes import NoteScore
from morphogen.music.data.vocabulary import PAD
from morphogen.music.inputs import EVALUATION_SPLITS

if TYPE_CHECKING:
    from morphogen.music.models.repair import RepairConfig

SPLITS = EVALUATION_SPLITS  # jsb-test | jsb-valid | jsb-train | chorales-test


def batch_grids(model, scores: Sequence[NoteScore]) -> tuple[torch.Tensor, list[int], list[GETScore]]:
    """(B, R, L) grids padded to the longest piece, each piece's length, and the encoded GETScores (pitch sets the
    vocabulary lacks are reduced to known subsets; see each GETScore's report)."""
    enc = [encode(s, model.vocab, model.track_names, model.drum_tracks, nearest=True) for s in scores]
    length = max(g.length for g in enc)
    out = torch.full((len(enc), 2 * len(model.track_names), length), PAD, dtype=torch.long)
    for i, g in enumerate(enc):
        out[i, :, : g.length] = torch.from_numpy(g.tokens)
    return out, [g.length for g in enc], enc


@dataclass
class Harmonized:
    """Generated pieces (source tracks as given), their grids, and decoding problems summed over the pieces."""

    scores: list[NoteScore]
    grids: list[np.ndarray]
    missing_durations: int
    orphan_durations: int
    nfe: int
    repair: dict | None = None


def harmonize(model, scores: Sequence[NoteScore], targets: Sequence[str], steps: int | None = None, seed: int = 0,
              batch_size: int = 16, order: str | None = None, temperature: float | None = None,
              choice_noise: float | None = None, repair: "RepairConfig | None" = None,
              sampler: str | None = None) -> Harmonized:
    """Generate the ``targets`` tracks of each piece given its other tracks (the whole piece at once); ``sampler``,
    ``steps``, ``order``, ``temperature``, ``choice_noise`` and ``repair`` (a
    :class:`morphogen.music.models.repair.RepairConfig`; None: the model's default): see
    :meth:`MusicModel.generate` (None everywhere: the model's default setting). ``nfe`` sums the batches' network evaluations; ``repair`` sums the batches'
    repair reports."""
    out, grids, miss, orphan, nfe, rep = [], [], 0, 0, 0, None
    for start in range(0, len(scores), batch_size):
        part = list(scores[start: start + batch_size])
        g, lengths, enc = batch_grids(model, part)
        res = model.generate(g, targets, sampler=sampler, steps=steps, seed=seed + start, lengths=lengths,
                             order=order, temperature=temperature, choice_noise=choice_noise, repair=repair)
        nfe += res.nfe
        if res.repair is not None:
            rep = _add_repair(rep, res.repair.as_dict())
        for i, s in enumerate(part):
            tok = res.tokens[i, :, : lengths[i]].numpy()
            dec = decode(GETScore(tok, model.track_names, model.drum_tracks, s.time_signature, s.source), model.vocab,
                         model.programs)
            out.append(dec.score)
            grids.append(tok)
            miss, orphan = miss + dec.missing_durations, orphan + dec.orphan_durations
    return Harmonized(out, grids, miss, orphan, nfe, rep)


def _add_repair(total: dict | None, part: dict) -> dict:
    """Sum two batches' repair reports; a batch that stopped early keeps its last parallel count (and 0 cells)."""
    if total is None:
        return part

    def pad(a: list[int], n: int, fill: int | None) -> list[int]:
        return a + [a[-1] if fill is None else fill] * (n - len(a))

    n, m = max(len(total["parallels"]), len(part["parallels"])), max(len(total["cells"]), len(part["cells"]))
    return {"rounds": max(total["rounds"], part["rounds"]), "nfe": total["nfe"] + part["nfe"],
            "parallels": [x + y for x, y in zip(pad(total["parallels"], n, None), pad(part["parallels"], n, None))],
            "cells": [x + y for x, y in zip(pad(total["cells"], m, 0), pad(part["cells"], m, 0))],
            "constrained": total["constrained"] or part["constrained"],
            "unresolved": total["unresolved"] + part["unresolved"],
            "reverted": total.get("reverted", 0) + part.get("reverted", 0)}


def load_split(split: str, data_dir: str | Path | None = None, limit: int | None = None) -> list[NoteScore]:
    """Pieces of an evaluation split: ``jsb-test`` / ``jsb-valid`` / ``jsb-train`` (JSON in ``data_dir``) or
    ``chorales-test`` (the held-out music21 corpus chorales)."""
    from morphogen.music.data.chorales import load_corpus_chorales, load_jsb

    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if split == "chorales-test":
        return load_corpus_chorales("test", limit=limit)
    if data_dir is None:
        raise ValueError(f"split '{split}' needs the JSB folder (--data DIR)")
    scores = load_jsb(data_dir, split.split("-", 1)[1])
    return scores[:limit] if limit else scores


def _clean(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


def evaluate(model, scores: Sequence[NoteScore], targets: Sequence[str] = ("alto", "tenor", "bass"),
             steps: int | None = None, num_t: int = 8, seed: int = 0, batch_size: int = 16, order: str | None = None,
             temperature: float | None = None, choice_noise: float | None = None,
             repair: "RepairConfig | None" = None, sampler: str | None = None) -> dict:
    """NLL bounds (every track generated; ``targets`` given the rest) and harmonisation metrics of the generated
    pieces, with Bach's own pieces as the reference row; ``repair``: see :func:`harmonize`. Returns a JSON-ready
    dict (``nfe``: network evaluations of the generation, summed over batches, repair rounds included)."""
    from morphogen.music.metrics.harmonization import HarmonizationMetrics
    from morphogen.music.metrics.nll import NLLMeter, nll_bound
    from morphogen.samplers.spec import SamplerSpec

    voices = list(model.track_names)
    nll_all, nll_tgt = NLLMeter(), NLLMeter()
    for start in range(0, len(scores), batch_size):
        g, lengths, _ = batch_grids(model, scores[start: start + batch_size])
        nll_all.update(nll_bound(model, g, model.target_mask(g, voices, lengths), num_t, seed + start))
        nll_tgt.update(nll_bound(model, g, model.target_mask(g, list(targets), lengths), num_t, seed + start))
    gen = harmonize(model, scores, targets, steps, seed, batch_size, order, temperature, choice_noise, repair, sampler)
    spec = model.sampling(sampler, steps, order, temperature, choice_noise)
    repair = model.default_repair() if repair is None else repair
    m_gen, m_ref = HarmonizationMetrics(voices, list(targets)), HarmonizationMetrics(voices, list(targets))
    for s_gen, s_ref in zip(gen.scores, scores):
        m_gen.update(s_gen, reference=s_ref)
        m_ref.update(s_ref)
    return {
        "pieces": len(scores), "targets": list(targets), "steps": spec.args.get("steps"),
        "sampling": {"sampler": str(SamplerSpec(spec.name, {k: v for k, v in spec.args.items() if k != "rule"})),
                     **repair.as_options()},
        "nfe": gen.nfe, "repair": gen.repair,
        "nll_all_tracks": _clean(nll_all.compute()), "nll_targets_given_rest": _clean(nll_tgt.compute()),
        "generated": _clean(m_gen.compute().as_dict()), "reference_bach": _clean(m_ref.compute().as_dict()),
        "decoding": {"missing_durations": gen.missing_durations, "orphan_durations": gen.orphan_durations},
        "protocol": "NLL: continuous-time masked-diffusion NELBO, nats (and bits) per 16th-note frame of whole "
                    f"pieces, {num_t} stratified t per piece; metrics: see morphogen.music.metrics",
    }
