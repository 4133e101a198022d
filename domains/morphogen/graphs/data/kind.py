"""What the nodes and edges of a graphs dataset mean: the one place where molecules and generic graphs part ways."""
from __future__ import annotations

from enum import Enum


class GraphKind(str, Enum):
    """The kind of a dataset, of the model trained on it and of its samples.

    ``MOLECULE``: nodes are heavy atoms (x one-hot elements), edges bond orders 1/2/3; samples are decoded into
    molecules (SMILES) and evaluated with the molecule metrics. ``GRAPH``: plain graphs (x one-hot degrees, edges
    0/1); samples are networkx graphs evaluated with degree / clustering / orbit MMD.

    Stored by value (``"molecule"`` / ``"graph"``) in prepared files and in checkpoint configurations.
    """

    MOLECULE = "molecule"
    GRAPH = "graph"

    @classmethod
    def parse(cls, value: "str | GraphKind", where: str = "kind") -> "GraphKind":
        """The member of a stored value; an unknown one is an error naming ``where`` (the file or configuration)."""
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"{where}: unknown graph kind {value!r}, expected one of "
                             f"{[k.value for k in cls]}") from None
