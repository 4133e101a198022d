"""Crystals of different atom counts as dense padded tensors with a node mask (the core's batch format).

A batch is ``{"fields": {...}, "masks": {...}, "condition": {...}}``:

* ``fields["lattice"]``: (B, 6) float, the standardised lattice parameters (:class:`LatticeCodec`), or (B, 3, 3), the
  scaled lattice matrix (:class:`LatticeMatrixCodec`): the codec's ``shape``;
* ``fields["frac_coords"]``: (B, N, 3) float in [0, 1), N = the largest atom count in the batch, 0 on padding;
* ``fields["atom_types"]``: (B, N) long class ids Z - 1 (generation only: in CSP the types are given);
* ``masks["frac_coords"]``: (B, N, 1) bool, ``masks["atom_types"]``: (B, N) bool (generation only);
* ``condition["atom_types"]``: (B, N) long Z - 1 (CSP only), ``condition["node_mask"]``: (B, N) bool,
  ``condition["num_atoms"]``: (B,) long.

Class ids are Z - 1 over 100 elements (H..Fm), the vocabulary of CDVAE, DiffCSP and CrysBFN.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from morphogen.crystals.data.lattice import LatticeCodec
from morphogen.crystals.data.structures import CrystalRecord
from morphogen.utils.padding import pad_sequences

NUM_ELEMENTS = 100
TASKS = ("csp", "gen")


def pad_atoms(atomic_numbers: Sequence[np.ndarray]) -> tuple[Tensor, Tensor]:
    """Atomic numbers of B cells -> (types (B, N) long Z - 1, 0 on padding; node_mask (B, N) bool), N = the largest
    cell (:func:`morphogen.utils.padding.pad_sequences`)."""
    ids = []
    for i, z in enumerate(atomic_numbers):
        z = np.asarray(z, dtype=np.int64)
        if z.size and (z.min() < 1 or z.max() > NUM_ELEMENTS):
            raise ValueError(f"cell {i}: atomic numbers must lie in 1..{NUM_ELEMENTS}, got {z.min()}..{z.max()}")
        ids.append(z - 1)
    padded = pad_sequences(ids, fill=0)
    return padded.values, padded.mask


class CrystalDataset(Dataset):
    """Records featurised once: item i is a dict of unpadded arrays; :func:`collate_crystals` pads a batch.

    Args:
        records: the crystals.
        codec: the lattice codec (:class:`LatticeCodec` or :class:`LatticeMatrixCodec`; fit it on the training
            records: ``.fit``).
        task: ``"csp"`` (types are a condition) or ``"gen"`` (types are a generated field).
    """

    def __init__(self, records: Sequence[CrystalRecord], codec: LatticeCodec, task: str = "csp"):
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got '{task}'")
        if not records:
            raise ValueError("CrystalDataset needs at least one record")
        self.records, self.codec, self.task = list(records), codec, task
        params = np.stack([r.lattice for r in self.records])
        counts = np.asarray([r.num_atoms for r in self.records])
        self.lattice = torch.as_tensor(codec.encode(params, counts), dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> dict:
        r = self.records[i]
        return {"lattice": self.lattice[i], "frac_coords": torch.as_tensor(r.frac_coords, dtype=torch.float32),
                "atomic_numbers": r.atomic_numbers, "task": self.task}


def collate_crystals(items: Sequence[dict]) -> dict:
    """Pad a list of :class:`CrystalDataset` items into the batch described in the module docstring."""
    task = items[0]["task"]
    types, mask = pad_atoms([it["atomic_numbers"] for it in items])
    b, n = types.shape
    coords = torch.zeros(b, n, 3)
    for i, it in enumerate(items):
        coords[i, : it["frac_coords"].shape[0]] = it["frac_coords"]
    fields = {"lattice": torch.stack([it["lattice"] for it in items]), "frac_coords": coords}
    masks = {"frac_coords": mask.unsqueeze(-1)}
    condition = {"node_mask": mask, "num_atoms": mask.sum(1)}
    if task == "gen":
        fields["atom_types"] = types
        masks["atom_types"] = mask
    else:
        condition["atom_types"] = types
    return {"fields": fields, "masks": masks, "condition": condition}
