"""A trained crystals model as one :class:`morphogen.bundle.ModelBundle`: the core's joint process, denoiser, default
sampler and metadata, plus what is the crystals domain's own: the lattice codec that decodes the lattice field, the
task, the process family and the training set's atom-count histogram.

Saved and loaded by the core (``model.save(path)``, ``morphogen.bundle.load("perov_5")``); files written before the
bundle format (``"morphogen.crystals/1"``) are upgraded in memory by :func:`upgrade_legacy` (the plugin's ``legacy``
hook), so older user files still load.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import numpy as np

from morphogen.bundle.model import FORMAT, FORMAT_VERSION, ModelBundle
from morphogen.crystals.data.lattice import LatticeCodec
from morphogen.utils.padding import CountHistogram

TASKS = ("csp", "gen")
LEGACY_FORMAT = "morphogen.crystals/1"
BUNDLE_CLASS = "morphogen.crystals.models.bundle.CrystalModel"
LATTICE, COORDS, TYPES = "lattice", "frac_coords", "atom_types"
#: the smallest cell volume (A^3) a decoded sample may have (CDVAE's construction rule; structure validity's bound)
MIN_CELL_VOLUME = 0.1


def field_names(task: str) -> list[str]:
    """The fields of the joint process of a task: lattice and coordinates, plus atom types for generation (in CSP
    the composition is given, as a condition)."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got '{task}'")
    return [LATTICE, COORDS] + ([TYPES] if task == "gen" else [])


@dataclass(kw_only=True, eq=False)
class CrystalModel(ModelBundle):
    """Crystal structure prediction (``task="csp"``) or ab initio generation (``"gen"``) with one trained denoiser.

    Attributes (besides :class:`ModelBundle`'s process, denoiser, sampler, metadata):
        codec: the lattice codec fitted on the training set (:class:`LatticeCodec`, a (B, 6) field, or
            :class:`LatticeMatrixCodec`, (B, 3, 3)); decodes the sampled lattice field.
        task: ``"csp"`` (atom types given, a condition) or ``"gen"`` (atom types are a generated field).
        family: the preset variant the process comes from, ``"bfn"`` | ``"diffusion"`` | ``"flow"``.
        num_atoms: the training cells' atom counts (:class:`morphogen.utils.padding.CountHistogram`; generation draws
            the counts from it; None for a model without one).
    """

    domain: ClassVar[str] = "crystals"

    codec: LatticeCodec
    task: str
    family: str
    num_atoms: CountHistogram | None = None

    def __post_init__(self):
        super().__post_init__()
        want = field_names(self.task)
        if sorted(self.process.fields) != sorted(want):
            raise ValueError(f"a {self.task} model needs a process over {want}, got {self.process.fields}")
        if getattr(self.denoiser, "task", self.task) != self.task:
            raise ValueError(f"a {self.task} model with a denoiser built for '{self.denoiser.task}'")
        codec_form = getattr(self.codec, "form", "params")
        net_form = getattr(self.denoiser, "lattice_form", "params")
        if codec_form != net_form:
            raise ValueError(f"the lattice codec gives a '{codec_form}' field, the denoiser reads '{net_form}'")

    # -- the domain's own data in the file ------------------------------------------------------------------------
    def domain_config(self) -> dict[str, Any]:
        from morphogen.utils.config import spec_of

        return {"codec": spec_of(self.codec), "task": self.task, "family": self.family,
                "num_atoms": {str(k): v for k, v in (self.num_atoms.to_mapping() if self.num_atoms else {}).items()}}

    @classmethod
    def parse_domain_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        from morphogen.utils.config import build

        missing = [k for k in ("codec", "task", "family") if k not in config]
        if missing:
            raise ValueError(f"the crystals part of the configuration lacks {missing}")
        return {"codec": build(config["codec"]), "task": str(config["task"]), "family": str(config["family"]),
                "num_atoms": CountHistogram.from_mapping(config["num_atoms"]) if config.get("num_atoms") else None}

    # -- sampling and fine-tuning ---------------------------------------------------------------------------------
    def make_sampler(self, sampler=None, steps=None):
        """The core rule (:meth:`ModelBundle.make_sampler`), warning when a Bayesian flow defined in discrete time
        (the periodic flow of the coordinates, ``steps`` sender samples) is sampled on another grid than it was
        trained with: that is no longer the trained flow."""
        smp = super().make_sampler(sampler, steps)
        if "bayesian_flow" in smp.requirements():
            for name, proc in self.process.items():
                trained = getattr(proc, "steps", None)
                if trained is not None and (smp.steps != trained or smp.grid != "uniform"):
                    warnings.warn(f"field '{name}': the Bayesian flow was trained with {trained} uniform steps; "
                                  f"sampling with {smp.steps} ({smp.grid} grid)", stacklevel=3)
        return smp

    def load_weights_from(self, other: ModelBundle, source: str = "the starting model") -> None:
        """Fine-tuning (``--init-from``): the starting model's weights *and its lattice codec* (the network was
        trained on lattices standardised by it). Task, process family, process and network must agree."""
        mine = (self.task, self.family)
        theirs = (getattr(other, "task", None), getattr(other, "family", None))
        if other.domain == self.domain and theirs != mine:
            raise ValueError(f"{source}: a {theirs[0]}/{theirs[1]} model, but this run trains {mine[0]}/{mine[1]} "
                             "(--task/--process must match the starting model)")
        super().load_weights_from(other, source)
        self.codec = other.codec

    # -- decoding -------------------------------------------------------------------------------------------------
    def decode(self, lattice, coords, types, mask) -> list:
        """Sampled tensors -> pymatgen Structures (None where the lattice is no cell, or a cell under
        :data:`MIN_CELL_VOLUME`: CDVAE's evaluation does not construct those either ("unrealistically small
        lattice", counted invalid), and pymatgen cannot read back the CIF of such a cell).

        Args:
            lattice: (B, 6) or (B, 3, 3) lattice field (the codec's shape);
            coords: (B, N, 3) fractional coordinates (read modulo 1);
            types: (B, N) class ids Z - 1; mask: (B, N) bool, True on real atoms.
        """
        from morphogen.crystals.data import CrystalRecord, record_to_structure

        n = mask.sum(1).cpu().numpy()
        params = self.codec.decode(lattice, n)
        out = []
        for i in range(len(n)):
            k = int(n[i])
            rec = CrystalRecord(params[i], np.mod(coords[i, :k].double().cpu().numpy(), 1.0),
                                types[i, :k].cpu().numpy().astype(np.int64) + 1)
            try:
                cell = record_to_structure(rec)
            except ValueError:
                cell = None
            out.append(cell if cell is not None and cell.volume >= MIN_CELL_VOLUME else None)
        return out


def upgrade_legacy(config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The bundle configuration of a model file written before the bundle format (``"morphogen.crystals/1"``:
    keys task, process, joint, denoiser, codec, sampler {name, steps, ...}, num_atoms); None for any other file.
    The plugin's ``legacy`` hook: ``morphogen.bundle.load`` calls it for files of an unknown format."""
    if config.get("format") != LEGACY_FORMAT:
        return None
    missing = [k for k in ("task", "process", "joint", "denoiser", "codec", "sampler") if k not in config]
    if missing:
        raise ValueError(f"a {LEGACY_FORMAT} model configuration without {missing}")
    sampler = dict(config["sampler"])
    name = sampler.pop("name")
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "domain": CrystalModel.domain, "bundle": BUNDLE_CLASS,
            "process": config["joint"], "denoiser": config["denoiser"], "sampler": {"name": name, "args": sampler},
            "metadata": {"notes": {"upgraded_from": LEGACY_FORMAT}},
            "domain_config": {"codec": config["codec"], "task": config["task"], "family": config["process"],
                              "num_atoms": dict(config.get("num_atoms") or {})}}
