"""Pictures of unit cells: atoms in 3-D (coloured by element, sized by covalent radius) inside the cell's edges."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

# corners of the unit cube joined by the 12 cell edges
_EDGES = [((0, 0, 0), (1, 0, 0)), ((0, 0, 0), (0, 1, 0)), ((0, 0, 0), (0, 0, 1)), ((1, 1, 0), (0, 1, 0)),
          ((1, 1, 0), (1, 0, 0)), ((1, 1, 0), (1, 1, 1)), ((1, 0, 1), (0, 0, 1)), ((1, 0, 1), (1, 1, 1)),
          ((1, 0, 1), (1, 0, 0)), ((0, 1, 1), (0, 0, 1)), ((0, 1, 1), (1, 1, 1)), ((0, 1, 1), (0, 1, 0))]


def draw_cell(ax, structure, title: str = "") -> None:
    """Draw a pymatgen ``Structure`` into a matplotlib 3-D axis: cell edges, atoms (with their periodic images on
    the cell's faces, so a perovskite shows its corner and face sites), an element legend."""
    import matplotlib
    from pymatgen.core import Element

    m = structure.lattice.matrix
    for a, b in _EDGES:
        p, q = np.asarray(a) @ m, np.asarray(b) @ m
        ax.plot(*zip(p, q), color="0.4", lw=0.8)
    elems = sorted({s.specie.symbol for s in structure}, key=lambda e: structure.composition.get(e, 0))
    cmap = matplotlib.colormaps["tab10"]
    for k, el in enumerate(elems):
        pts = []
        for site in structure:
            if site.specie.symbol != el:
                continue
            f = np.mod(site.frac_coords, 1.0)
            for shift in np.ndindex(2, 2, 2):  # images on the faces/edges/corners of the drawn cell
                g = f + np.asarray(shift)
                if (g <= 1.0 + 1e-6).all() and (np.asarray(shift)[f > 1e-3] == 0).all():
                    pts.append(g @ m)
        pts = np.asarray(pts)
        radius = float(Element(el).atomic_radius or 1.0)
        ax.scatter(pts[:, 0], pts[:, 1], pts[:, 2], s=120 * radius, color=cmap(k % 10), edgecolor="k", label=el,
                   depthshade=False)
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper left", fontsize=7)
    ax.set_axis_off()


def draw_cells(structures: Sequence, titles: Sequence[str], path: str | os.PathLike) -> Path:
    """One PNG with the given structures side by side (None entries are skipped), written atomically."""
    from matplotlib.figure import Figure  # no pyplot: leaves the caller's (e.g. a notebook's) backend alone

    from morphogen.utils.outputs import atomic_figure

    pairs = [(s, t) for s, t in zip(structures, titles) if s is not None]
    fig = Figure(figsize=(3.6 * max(1, len(pairs)), 3.6))
    for i, (s, t) in enumerate(pairs):
        draw_cell(fig.add_subplot(1, len(pairs), i + 1, projection="3d"), s, t)
    fig.tight_layout()
    return atomic_figure(path, fig, dpi=110)
