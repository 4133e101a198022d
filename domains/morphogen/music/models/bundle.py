"""A trained GETMusic model as one object: vocabulary, track layout, joint process and denoiser.

A :class:`morphogen.bundle.ModelBundle` (one file format for every domain: safetensors weights + JSON configuration
with the specs of process, denoiser and default sampler) whose domain data are the vocabulary and the track
layout, so a model file is all a user needs.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np
import torch
from torch import Tensor

from morphogen.music.data.dataset import FIELD
from morphogen.music.data.getscore import GETScore
from morphogen.bundle.model import ModelBundle
from morphogen.music.data.vocabulary import PAD, Vocabulary

if TYPE_CHECKING:
    from morphogen.music.models.repair import RepairConfig, RepairReport

#: the format of music model files written before the core bundle (read by :func:`upgrade_legacy`)
LEGACY_FORMAT = "morphogen.music/1"
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "checkpoints"


@dataclass
class Generation:
    """Generated grids (B, R, L) (source entries equal to the input exactly), the target mask used (B, R, L), the
    number of network evaluations (sampling steps plus repair rounds) and, when repair rounds were asked for, what
    they did (:class:`morphogen.music.models.repair.RepairReport`)."""

    tokens: Tensor
    target_mask: Tensor
    nfe: int
    repair: "RepairReport | None" = None


@dataclass(kw_only=True, eq=False)
class MusicModel(ModelBundle):
    """A GETMusic model: the core bundle (joint process ``{"tokens": MaskedDiffusion}``, denoiser, default sampler,
    metadata) plus what reading and writing music needs.

    Attributes:
        vocab: the token vocabulary.
        track_names: the tracks, top first (rows 2k, 2k+1 of the grid).
        drum_tracks: tracks decoded as drums; programs: General MIDI program per track for writing MIDI.
        steps_per_bar: 16 for 4/4 (used for ``--bars``).
        repair: the default repair of parallel fifths / octaves after sampling (keyword arguments ``repair_*`` of
            :meth:`generate` without the prefix; empty: no repair): with :attr:`sampler` the setting the music
            benchmark measured best.
    """

    domain: ClassVar[str] = "music"

    vocab: Vocabulary
    track_names: list[str]
    drum_tracks: list[str] = field(default_factory=list)
    programs: dict[str, int] = field(default_factory=dict)
    steps_per_bar: int = 16
    repair: dict[str, Any] = field(default_factory=dict)

    # -- saving ------------------------------------------------------------------------------------------------
    def domain_config(self) -> dict:
        return {"vocab": self.vocab.to_dict(), "track_names": list(self.track_names),
                "drum_tracks": list(self.drum_tracks), "programs": dict(self.programs),
                "steps_per_bar": int(self.steps_per_bar), "repair": dict(self.repair)}

    @classmethod
    def parse_domain_config(cls, config: dict) -> dict:
        return {"vocab": Vocabulary.from_dict(config["vocab"]), "track_names": list(config["track_names"]),
                "drum_tracks": list(config.get("drum_tracks", [])), "programs": dict(config.get("programs", {})),
                "steps_per_bar": int(config.get("steps_per_bar", 16)), "repair": dict(config.get("repair", {}))}

    @classmethod
    def load(cls, name_or_path: str | os.PathLike) -> "MusicModel":
        """A model file (``.safetensors`` from :meth:`save` or ``morphogen music train``), a run folder, or the name
        of a shipped model (``$MORPHOGEN_MODELS/music/``, then the package's ``checkpoints/``)."""
        from morphogen.bundle import load

        return load(name_or_path, domain="music")

    # -- generation ----------------------------------------------------------------------------------------------
    def target_mask(self, grids: Tensor, targets: Sequence[str], lengths: Sequence[int] | None = None) -> Tensor:
        """(B, R, L) bool: the rows of ``targets`` over the first ``lengths[b]`` columns (default: the columns that
        are not all padding, or all columns when the whole grid is padding)."""
        bad = [t for t in targets if t not in self.track_names]
        if bad:
            raise ValueError(f"unknown target tracks {bad}; the model's tracks are {self.track_names}")
        b, r, length = grids.shape
        rows = torch.tensor(np.repeat([n in targets for n in self.track_names], 2), dtype=torch.bool)
        if lengths is None:
            used = (grids != PAD).any(dim=1)  # (B, L)
            idx = torch.arange(length)
            last = torch.where(used, idx, -1).max(dim=1).values
            last = torch.where(last < 0, length - 1, last)
            cols = idx[None] <= last[:, None]
        else:
            cols = torch.arange(length)[None] < torch.tensor(list(lengths))[:, None]
        return rows[None, :, None] & cols[:, None, :]

    @torch.no_grad()
    def generate(self, grids: Tensor, targets: Sequence[str], steps: int = 100, seed: int = 0,
                 lengths: Sequence[int] | None = None, sampler: str = "ancestral", order: str = "ancestral",
                 temperature: float = 1.0, choice_noise: float = 0.0,
                 repair: "RepairConfig | None" = None) -> Generation:
        """Generate the ``targets`` tracks of ``grids`` (B, R, L) given every other entry (source tracks, padding).

        Target rows are overwritten; everything else is kept exactly (imposed with ``Inpaint(mode="clean")``).
        ``order``: ``"ancestral"`` (the default: the core sampler named by ``sampler``, every masked cell revealed
        independently), or ``"confidence"`` / ``"random"``: the core's ordered unmasking
        (:class:`morphogen.samplers.unmask.OrderedUnmasking`: as many cells per step as the schedule, chosen by model
        confidence or at random) with the :class:`~morphogen.music.models.unmask.GETScoreRule` (pitch before
        duration, so the two rows always agree); ``choice_noise``: MaskGIT's annealed randomness of the confidence
        order (ignored by the other orders). ``temperature`` divides the logits (1 = as trained).

        ``repair`` (a :class:`morphogen.music.models.repair.RepairConfig` with ``rounds`` > 0) adds the repair stage
        of :mod:`morphogen.music.models.repair` after the generation: rounds that re-mask the target-voice notes of
        parallel fifths and octaves and resample them with the model (order "random" after ancestral sampling).
        ``nfe`` counts every network evaluation, the repair's included (as reported by the core samplers).
        Runs on the device of the denoiser's weights; returns CPU tensors.
        """
        from morphogen.guidance.inpaint import Inpaint
        from morphogen.music.models.repair import RepairConfig
        from morphogen.music.models.unmask import GETScoreRule
        from morphogen.samplers import get_sampler
        from morphogen.samplers.unmask import ORDERS, OrderedUnmasking

        grids = torch.as_tensor(grids, dtype=torch.long)
        if grids.dim() == 2:
            grids = grids[None]
        if grids.shape[1] != 2 * len(self.track_names):
            raise ValueError(f"grids have {grids.shape[1]} rows, the model expects {2 * len(self.track_names)}")
        if order != "ancestral" and order not in ORDERS:
            raise ValueError(f"order must be 'ancestral' or one of {ORDERS}, got {order!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if repair is not None and not isinstance(repair, RepairConfig):
            raise TypeError(f"repair must be a RepairConfig, got {type(repair).__name__}")
        repairing = repair is not None and repair.rounds > 0
        if repairing:
            from morphogen.music.data.chorales import VOICES

            if not set(self.track_names) <= set(VOICES):
                raise ValueError(f"repairing parallel fifths / octaves is a rule of vocal part writing; this model's "
                                 f"tracks {list(self.track_names)} are not all among {VOICES}")
        device = next(self.denoiser.parameters()).device
        mask = self.target_mask(grids, targets, lengths).to(device)
        g = torch.Generator(device=device).manual_seed(int(seed))
        self.denoiser.eval()
        noise = choice_noise if order == "confidence" else 0.0
        if order == "ancestral":
            den = self.denoiser if temperature == 1.0 else _Tempered(self.denoiser, float(temperature))
            core = get_sampler(sampler, steps=steps)
        else:
            den = self.denoiser
            core = OrderedUnmasking(steps, order, noise, temperature, rule=GETScoreRule(FIELD))
        grids = grids.to(device)
        fixed = Inpaint({FIELD: grids}, {FIELD: ~mask}, mode="clean")
        res = core.sample(self.process, den, {FIELD: tuple(grids.shape)}, masks={FIELD: mask}, fixed=fixed,
                          generator=g, device=device)
        out, nfe = res.fields[FIELD], res.nfe
        report = None
        if repairing:
            from morphogen.music.models.repair import repair_parallels

            voices = [i for i, n in enumerate(self.track_names) if n not in self.drum_tracks]
            out, report = repair_parallels(self.denoiser, self.process, self.vocab, voices, out, mask, repair,
                                           order=order if order != "ancestral" else "random",
                                           temperature=temperature, choice_noise=noise, generator=g, field=FIELD)
            nfe += report.nfe
        return Generation(out.cpu(), mask.cpu(), nfe, report)

    def empty_grid(self, length: int) -> Tensor:
        """(R, length) all ``<pad>``: a grid with no source (generate every target from scratch)."""
        return torch.full((2 * len(self.track_names), int(length)), PAD, dtype=torch.long)

    def as_getscore(self, tokens: Tensor | np.ndarray, source: str = "") -> GETScore:
        return GETScore(np.asarray(tokens), list(self.track_names), list(self.drum_tracks), (4, 4), source)


class _Tempered(torch.nn.Module):
    """A denoiser whose logits are divided by ``temperature``."""

    def __init__(self, denoiser: torch.nn.Module, temperature: float):
        super().__init__()
        self.inner, self.temperature = denoiser, temperature
        self.prediction_kinds = dict(denoiser.prediction_kinds)

    def forward(self, state, condition=None, drop_condition=None):
        return {k: v / self.temperature for k, v in self.inner(state, condition, drop_condition).items()}


def upgrade_legacy(config: dict) -> dict | None:
    """A music model configuration of the pre-bundle format (``morphogen.music/1``) as a bundle configuration (the
    field ``score`` renamed ``tokens``; the default sampler then was the ancestral one with 100 steps and no
    repair, the defaults of ``generate`` at the time), or None for a file of another domain."""
    if config.get("format") != LEGACY_FORMAT:
        return None
    from morphogen.bundle.model import FORMAT, FORMAT_VERSION

    process = json.loads(json.dumps(config["process"]))
    procs = process["args"]["processes"]
    if "score" in procs:
        procs[FIELD] = procs.pop("score")
    denoiser = json.loads(json.dumps(config["denoiser"]))
    if denoiser.get("args", {}).get("field") == "score":
        denoiser["args"]["field"] = FIELD
    domain = {k: config[k] for k in ("vocab", "track_names", "drum_tracks", "programs", "steps_per_bar") if k in config}
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "domain": "music",
            "bundle": "morphogen.music.models.bundle.MusicModel", "process": process, "denoiser": denoiser,
            "sampler": config.get("sampler") or {"name": "ancestral", "args": {"steps": 100}},
            "metadata": {"notes": {"upgraded_from": LEGACY_FORMAT}}, "domain_config": {**domain, "repair": {}}}
