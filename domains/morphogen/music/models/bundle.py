"""A trained GETMusic model as one object: vocabulary, track layout, joint process, denoiser, default sampler.

A :class:`morphogen.bundle.ModelBundle` (one file format for every domain: safetensors weights + JSON configuration
with the specs of process, denoiser and default sampler) whose domain data are the vocabulary and the track
layout, so a model file is all a user needs.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np
import torch
from torch import Tensor

from morphogen.bundle.model import ModelBundle
from morphogen.music.data.dataset import FIELD
from morphogen.music.data.getscore import GETScore
from morphogen.music.data.vocabulary import PAD, Vocabulary

if TYPE_CHECKING:
    from morphogen.music.models.repair import RepairConfig, RepairReport
    from morphogen.samplers.spec import SamplerSpec

#: the format of music model files written before the core bundle (read by :func:`upgrade_legacy`)
LEGACY_FORMAT = "morphogen.music/1"


@dataclass
class Generation:
    """Generated grids (B, R, L) (source entries equal to the input exactly), the target mask used (B, R, L), the
    number of network evaluations (sampling steps plus repair rounds), when repair rounds ran, what they did
    (:class:`morphogen.music.models.repair.RepairReport`), and the core sampler spec that generated them."""

    tokens: Tensor
    target_mask: Tensor
    nfe: int
    repair: "RepairReport | None" = None
    sampler: "SamplerSpec | None" = None


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

    def default_repair(self) -> "RepairConfig":
        """The model's default repair stage (:attr:`repair`; no repair when it is empty)."""
        from morphogen.music.models.repair import RepairConfig

        return RepairConfig(**self.repair)

    def sampling(self, sampler: "str | SamplerSpec | None" = None, steps: int | None = None,
                 order: str | None = None, temperature: float | None = None,
                 choice_noise: float | None = None) -> "SamplerSpec":
        """The core sampler spec of a generation: the model's default combined with ``sampler`` / ``steps`` by the
        core rule (:mod:`morphogen.samplers.spec`), then music's shorthands: ``order`` ``"ancestral"`` (the core
        ancestral sampler: every masked cell revealed independently) or ``"confidence"`` / ``"random"`` (the core
        ``unmask`` sampler), ``temperature`` and ``choice_noise`` (``unmask`` arguments; a temperature with another
        sampler divides the logits, see :meth:`generate`). The ``unmask`` sampler always gets the
        :class:`~morphogen.music.models.unmask.GETScoreRule` (pitch before duration)."""
        from morphogen.music.models.unmask import GETScoreRule
        from morphogen.samplers.spec import SamplerSpec
        from morphogen.samplers.unmask import ORDERS
        from morphogen.utils.config import spec_of

        spec = self.sampler_spec.with_options(sampler, steps)
        steps_now = {"steps": spec.args["steps"]} if "steps" in spec.args else {}
        if order is not None:
            if order == "ancestral":
                spec = SamplerSpec("ancestral", steps_now)
            elif order in ORDERS:
                args = dict(spec.args) if spec.name == "unmask" else dict(steps_now)
                args["order"] = order
                if order != "confidence":
                    args.pop("choice_noise", None)
                spec = SamplerSpec("unmask", args)
            else:
                raise ValueError(f"order must be 'ancestral' or one of {ORDERS}, got {order!r}")
        if spec.name == "unmask":
            args = dict(spec.args)
            if choice_noise is not None and args.get("order", "confidence") == "confidence":
                args["choice_noise"] = float(choice_noise)  # the other orders have no choice to randomise
            if temperature is not None:
                args["temperature"] = float(temperature)
            if args.get("rule") is None:
                args["rule"] = spec_of(GETScoreRule(FIELD))
            spec = SamplerSpec("unmask", args)
        elif choice_noise:  # a choice noise without any order to apply it to
            raise ValueError(f"choice noise is a setting of the confidence order (sampler 'unmask'), not of "
                             f"'{spec.name}'")
        return spec

    @torch.no_grad()
    def generate(self, grids: Tensor, targets: Sequence[str], *, sampler: "str | SamplerSpec | None" = None,
                 steps: int | None = None, seed: int = 0, lengths: Sequence[int] | None = None,
                 order: str | None = None, temperature: float | None = None, choice_noise: float | None = None,
                 repair: "RepairConfig | None" = None) -> Generation:
        """Generate the ``targets`` tracks of ``grids`` (B, R, L) given every other entry (source tracks, padding).

        Target rows are overwritten; everything else is kept exactly (imposed with ``Inpaint(mode="clean")``).
        With no sampling arguments the model's default sampler and repair are used (for the shipped ``chorales``
        model the setting the music benchmark measured best); ``sampler``, ``steps``, ``order``, ``temperature``,
        ``choice_noise``: see :meth:`sampling`. ``temperature`` with a sampler other than ``unmask`` divides the
        logits (1 = as trained).

        ``repair`` (a :class:`morphogen.music.models.repair.RepairConfig`; None: :meth:`default_repair`; ``rounds``
        0: none) adds the repair stage of :mod:`morphogen.music.models.repair` after the generation: rounds that
        re-mask the target-voice notes of parallel fifths and octaves and resample them with the model (order
        "random" after ancestral sampling). ``nfe`` counts every network evaluation, the repair's included (as
        reported by the core samplers). Runs on the device of the denoiser's weights; returns CPU tensors.
        """
        from morphogen.guidance.inpaint import Inpaint
        from morphogen.music.models.repair import RepairConfig

        grids = torch.as_tensor(grids, dtype=torch.long)
        if grids.dim() == 2:
            grids = grids[None]
        if grids.shape[1] != 2 * len(self.track_names):
            raise ValueError(f"grids have {grids.shape[1]} rows, the model expects {2 * len(self.track_names)}")
        if temperature is not None and not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        spec = self.sampling(sampler, steps, order, temperature, choice_noise)
        repair = self.default_repair() if repair is None else repair
        if not isinstance(repair, RepairConfig):
            raise TypeError(f"repair must be a RepairConfig, got {type(repair).__name__}")
        if repair.rounds > 0:
            from morphogen.music.data.chorales import VOICES

            if not set(self.track_names) <= set(VOICES):
                raise ValueError(f"repairing parallel fifths / octaves is a rule of vocal part writing; this model's "
                                 f"tracks {list(self.track_names)} are not all among {VOICES}")
        core = spec.build()
        core.check(self.process)
        device = self.device
        mask = self.target_mask(grids, targets, lengths).to(device)
        g = torch.Generator(device=device).manual_seed(int(seed))
        self.denoiser.eval()
        den = self.denoiser
        if spec.name != "unmask" and temperature not in (None, 1.0):
            den = _Tempered(self.denoiser, float(temperature))
        grids = grids.to(device)
        fixed = Inpaint({FIELD: grids}, {FIELD: ~mask}, mode="clean")
        res = core.sample(self.process, den, {FIELD: tuple(grids.shape)}, masks={FIELD: mask}, fixed=fixed,
                          generator=g, device=device)
        out, nfe = res.fields[FIELD], res.nfe
        report = None
        if repair.rounds > 0:
            from morphogen.music.models.repair import repair_parallels

            unmask = spec.name == "unmask"
            voices = [i for i, n in enumerate(self.track_names) if n not in self.drum_tracks]
            out, report = repair_parallels(self.denoiser, self.process, self.vocab, voices, out, mask, repair,
                                           order=core.order if unmask else "random",
                                           temperature=core.temperature if unmask else float(temperature or 1.0),
                                           choice_noise=core.choice_noise if unmask else 0.0, generator=g,
                                           field=FIELD)
            nfe += report.nfe
        return Generation(out.cpu(), mask.cpu(), nfe, report, spec)

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
