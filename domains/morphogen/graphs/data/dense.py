"""Dense padded graph tensors: the batch format of every graph model in this domain."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from morphogen.molecules.convert import DenseMolecules


@dataclass
class DenseGraphs:
    """A set of graphs as dense padded tensors.

    Attributes:
        x: (B, N, F) float node features (one-hot atom types or one-hot degrees); zero on padded nodes.
        adj: (B, N, N) float symmetric adjacency with zero diagonal: bond orders 1/2/3 for molecules (kekulized),
            1 for generic graphs; zero on padding.
        mask: (B, N) bool, True for real nodes. Real nodes come first in every row.
        names: per graph, its source record (SMILES for molecules, ``"file: graph i"`` otherwise).
        feature_names: the meaning of each of the F columns of ``x``.
        skipped: records left out on request (``skip_invalid``), each ``"where: reason"``.
    """

    x: Tensor
    adj: Tensor
    mask: Tensor
    names: list[str]
    feature_names: list[str]
    skipped: list[str] = field(default_factory=list)

    @classmethod
    def from_molecules(cls, molecules: DenseMolecules) -> "DenseGraphs":
        """GDSS's features of molecules: x = one-hot atom types (B, N, F), adj = bond orders as floats (B, N, N),
        names = SMILES, feature_names = the atom vocabulary."""
        return cls(molecules.one_hot(), molecules.bonds.float(), molecules.mask.clone(), list(molecules.smiles),
                   list(molecules.atoms), list(molecules.skipped))

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def max_nodes(self) -> int:
        return self.x.shape[1]

    def subset(self, index) -> "DenseGraphs":
        idx = torch.as_tensor(index, dtype=torch.long)
        return DenseGraphs(self.x[idx], self.adj[idx], self.mask[idx], [self.names[i] for i in idx.tolist()],
                           list(self.feature_names), list(self.skipped))

    def num_nodes(self) -> Tensor:
        """(B,) long: number of real nodes per graph."""
        return self.mask.sum(1)

    def training_fields(self) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """(fields, masks) for :class:`morphogen.train.data.TensorFieldDataset` style batches: fields ``X`` (B, N, F)
        and ``A`` (B, N, N); masks ``X`` (B, N, 1) and ``A`` (B, N, N) (real node pairs, diagonal excluded)."""
        return {"X": self.x, "A": self.adj}, graph_masks(self.mask)


def graph_masks(node_mask: Tensor) -> dict[str, Tensor]:
    """Field masks from a node mask (B, N): ``X`` (B, N, 1), ``A`` (B, N, N) with a zero diagonal."""
    m = node_mask.float()
    pair = m[:, :, None] * m[:, None, :]
    eye = torch.eye(node_mask.shape[1], dtype=pair.dtype, device=pair.device)
    return {"X": m[:, :, None], "A": pair * (1 - eye)}
