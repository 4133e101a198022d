"""GDSS's train / test split of the molecule benchmarks, by its test-index files.

GDSS test indices (``valid_idx_qm9.json``, ``valid_idx_zinc250k.json``):
    * ZINC250k: a JSON list of 0-based row indices into the standard CSV ``250k_rndm_zinc_drugs_clean_3.csv``.
    * QM9: ``{"valid_idxs": ["007278", ...]}``; GDSS reads ``int(s)`` as a 0-based row of the 133,885-row QM9 CSV
      (gdb order), i.e. the test molecule of entry ``s`` is ``dsgdb9nsd_{s + 1}`` (MoFlow, where the file comes
      from, subtracted 1; GDSS does not, and we follow GDSS so that numbers compare). ``qm9pack`` ships 130,831 of
      the 133,885 molecules (those of the QM9 consistency check) in gdb order with the gdb number in its ``Index``
      column, so the mapping is ``Index == int(s) + 1``; test entries whose molecule qm9pack lacks are reported
      in ``Split.missing`` (never silently dropped).

The molecule sets themselves are read by :mod:`morphogen.molecules` (``load_qm9``, ``load_zinc250k``, ...), whose
``MoleculeSet.ids`` are the row ids these indices refer to.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from morphogen.graphs.data.errors import GraphDataError, load_json

if TYPE_CHECKING:
    from morphogen.molecules.datasets import MoleculeSet


@dataclass
class Split:
    """Positions (into a :class:`~morphogen.molecules.datasets.MoleculeSet`) of the train and test molecules;
    ``missing`` lists test ids that the set does not contain."""

    train: torch.Tensor
    test: torch.Tensor
    missing: list[int] = field(default_factory=list)


def read_test_indices(path: str | Path) -> list[int]:
    """GDSS test indices as 0-based row ids (see the module docstring for the QM9 convention)."""
    path = Path(path)
    data = load_json(path)
    if isinstance(data, dict):
        if "valid_idxs" not in data:
            raise GraphDataError(str(path), "a JSON object without 'valid_idxs'")
        data = data["valid_idxs"]
    try:
        return [int(i) for i in data]
    except (TypeError, ValueError) as err:
        raise GraphDataError(str(path), f"indices must be integers or digit strings ({err})") from None


def gdss_split(molecules: MoleculeSet, test_index_path: str | Path) -> Split:
    """Train / test positions by the GDSS test indices; train is every molecule not in the test list."""
    test_ids = read_test_indices(test_index_path)
    pos = {int(r): k for k, r in enumerate(molecules.ids.tolist())}
    test = [pos[i] for i in test_ids if i in pos]
    missing = [i for i in test_ids if i not in pos]
    tset = set(test)
    train = [k for k in range(len(molecules.ids)) if k not in tset]
    return Split(torch.tensor(train, dtype=torch.long), torch.tensor(test, dtype=torch.long), missing)
