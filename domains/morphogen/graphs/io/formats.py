"""Writing samples in the field's formats: ``samples.smi`` (one line per sample, invalid ones included as their
raw SMILES or an empty line), ``graphs.json`` (generic graphs) and a PNG grid (RDKit drawing / networkx)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence


def write_smiles(lines: Sequence[str], path: str | Path) -> Path:
    """One SMILES per line; a line may be empty (an empty sample). Newlines inside entries are an error."""
    bad = [i for i, s in enumerate(lines) if "\n" in s]
    if bad:
        raise ValueError(f"sample(s) {bad[:5]} contain a newline")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(s + "\n" for s in lines))
    return path


def read_smiles_lines(path: str | Path) -> list[str]:
    """The lines of a ``samples.smi`` (empty lines kept: they are samples)."""
    text = Path(path).read_text()
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")


def draw_molecules(smiles: Sequence[str], path: str | Path, per_row: int = 8, size: int = 200) -> Path:
    """A PNG grid of molecules (unparsable or empty entries drawn as empty cells)."""
    from rdkit import Chem
    from rdkit.Chem import Draw

    mols = [Chem.MolFromSmiles(s) if s else None for s in smiles]
    mols = [m if m is not None else Chem.Mol() for m in mols]
    # returnPNG: bytes, also inside Jupyter (where RDKit swaps the PIL image for an IPython one)
    png = Draw.MolsToGridImage(mols, molsPerRow=per_row, subImgSize=(size, size), returnPNG=True)
    path = Path(path)
    path.write_bytes(png if isinstance(png, bytes) else png.data)
    return path


def draw_graphs(graphs: Sequence, path: str | Path, per_row: int = 4, seed: int = 0) -> Path:
    """A PNG grid of networkx graphs (spring layout)."""
    import networkx as nx
    from matplotlib.figure import Figure  # no pyplot: leaves the caller's (e.g. a notebook's) backend alone

    rows = max(1, -(-len(graphs) // per_row))
    fig = Figure(figsize=(3 * per_row, 3 * rows))
    axes = fig.subplots(rows, per_row, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, G in zip(axes.flat, graphs):
        nx.draw(G, nx.spring_layout(G, seed=seed), ax=ax, node_size=20, width=0.6)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    return Path(path)
