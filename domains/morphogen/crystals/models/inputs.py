"""What every crystals denoiser reads the same way: the prediction kinds per field, the atom-type features and the
node mask (shared by :class:`~morphogen.crystals.models.cspnet.CrystalDenoiser` and
:class:`~morphogen.crystals.models.csp_network.CSPNet`)."""
from __future__ import annotations

from typing import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

NUM_ELEMENTS = 100
TASKS = ("csp", "gen")


def prediction_kinds(task: str, kinds: Mapping[str, str] | None, lattice_field: str, coords_field: str,
                     types_field: str) -> dict[str, str]:
    """field -> kind: lattice and coordinates ``"x1"`` by default, types ``"logits"`` (generation only); unknown
    fields and a types kind other than logits are errors."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got '{task}'")
    default = {lattice_field: "x1", coords_field: "x1"}
    if task == "gen":
        default[types_field] = "logits"
    out = {**default, **dict(kinds or {})}
    unknown = set(out) - set(default)
    if unknown:
        raise ValueError(f"kinds given for unknown fields {sorted(unknown)}; the fields are {sorted(default)}")
    if task == "gen" and out[types_field] != "logits":
        raise ValueError(f"atom types are predicted as 'logits', got '{out[types_field]}'")
    return out


def type_features(task: str, state, condition, types_field: str, dtype) -> Tensor:
    """(B, N, 101) type features: one-hot class ids Z - 1 (the CSP condition, or generation tokens with class 100 =
    mask), or a Bayesian flow's belief over 100 classes padded with a zero mask column."""
    if task == "csp":
        if not isinstance(condition, Mapping) or "atom_types" not in condition:
            raise ValueError("CSP needs condition['atom_types'] (B, N) long class ids Z - 1")
        return F.one_hot(condition["atom_types"].long(), NUM_ELEMENTS + 1).to(dtype)
    v = state[types_field].value
    if v.is_floating_point():
        if v.shape[-1] != NUM_ELEMENTS:
            raise ValueError(f"atom type beliefs must have {NUM_ELEMENTS} classes, got shape {tuple(v.shape)}")
        return F.pad(v.to(dtype), (0, 1))
    return F.one_hot(v.long().clamp(0, NUM_ELEMENTS), NUM_ELEMENTS + 1).to(dtype)


def node_mask(coords_state, condition) -> Tensor:
    """(B, N) bool: ``condition["node_mask"]`` if given, else the coordinates' state mask, else all True."""
    x = coords_state.value
    if isinstance(condition, Mapping) and condition.get("node_mask") is not None:
        return condition["node_mask"].bool()
    if coords_state.mask is not None:
        return torch.broadcast_to(coords_state.mask.bool(), x.shape)[..., 0]
    return torch.ones(x.shape[0], x.shape[1], dtype=torch.bool, device=x.device)
