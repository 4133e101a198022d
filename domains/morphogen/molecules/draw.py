"""Pictures of molecules: a PNG grid drawn by RDKit."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence


def draw_molecules(smiles: Sequence[str], path: str | Path, per_row: int = 8, size: int = 200) -> Path:
    """A PNG grid of molecules (unparsable or empty entries drawn as empty cells), ``size`` pixels per cell."""
    from rdkit import Chem
    from rdkit.Chem import Draw

    mols = [Chem.MolFromSmiles(s) if s else None for s in smiles]
    mols = [m if m is not None else Chem.Mol() for m in mols]
    # returnPNG: bytes, also inside Jupyter (where RDKit swaps the PIL image for an IPython one)
    png = Draw.MolsToGridImage(mols, molsPerRow=per_row, subImgSize=(size, size), returnPNG=True)
    from morphogen.utils.outputs import atomic_bytes

    return atomic_bytes(path, png if isinstance(png, bytes) else png.data)
