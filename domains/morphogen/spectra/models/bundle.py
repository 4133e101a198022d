"""A trained structure-elucidation model as one object: the core bundle plus what reading spectra and writing
molecules needs (the element classes, the largest molecule, the IR grid, the modalities it was trained on)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

from morphogen.bundle.model import ModelBundle
from morphogen.spectra.data.molecules import ELEMENTS, IR_GRID, QM9_MAX_ATOMS


@dataclass(kw_only=True, eq=False)
class SpectraModel(ModelBundle):
    """DiffSpectra-style model: joint process ``{"atoms": MaskedDiffusion, "bonds": MaskedDiffusion, "pos":
    ZeroCoMGaussian}``, the :class:`~morphogen.spectra.models.egnn.MoleculeDenoiser` with its spectral encoder, the
    default sampler, and:

    Attributes:
        elements: the element of each atom class.
        max_atoms: the most atoms (hydrogens included) a molecule may have.
        modalities: the spectra it reads ("ir", "c13", "h1"; "formula" is always optional).
        ir_grid: (start, stop, step) cm^-1 of its IR input.
    """

    domain: ClassVar[str] = "spectra"

    elements: tuple[str, ...] = ELEMENTS
    max_atoms: int = QM9_MAX_ATOMS
    modalities: tuple[str, ...] = ("ir",)
    ir_grid: tuple[float, float, float] = IR_GRID
    notes: dict[str, Any] = field(default_factory=dict)

    def domain_config(self) -> dict[str, Any]:
        return {"elements": list(self.elements), "max_atoms": self.max_atoms, "modalities": list(self.modalities),
                "ir_grid": list(self.ir_grid)}

    @classmethod
    def parse_domain_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        return {"elements": tuple(config.get("elements", ELEMENTS)), "max_atoms": int(config.get("max_atoms", 29)),
                "modalities": tuple(config.get("modalities", ("ir",))),
                "ir_grid": tuple(config.get("ir_grid", IR_GRID))}
