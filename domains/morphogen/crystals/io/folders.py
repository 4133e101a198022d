"""A prediction or generation folder: one CIF per sampled cell and an index.csv (see :mod:`.cif` for the columns),
the layout ``morphogen crystals evaluate`` reads.

* CSP: ``<row>_<k>.cif`` for sample k of the composition in data row ``row``; index rows sorted by (row, sample);
* generation: ``gen_<i>.cif``; ``row`` empty, ``sample`` = i, ``formula`` the generated cell's.

A sample that is no cell gets an index row with an empty ``path`` (it counts as invalid), never a silent gap.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from morphogen.crystals.io.cif import IndexRow, write_cif, write_index


@dataclass
class WrittenFolder:
    """What a folder writer wrote: the index.csv, the number of CIFs and the samples that were no cell."""

    index: Path
    written: int
    failed: int


def write_prediction_folder(out: str | os.PathLike, compositions: Sequence,
                            samples: Sequence[Sequence]) -> WrittenFolder:
    """Write CSP samples: ``samples[k][i]`` is sample k (a pymatgen Structure or None) of ``compositions[i]`` (a
    :class:`morphogen.crystals.data.CompositionRecord`: its ``row``, ``material_id`` and ``formula`` go to the
    index)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, run in enumerate(samples):
        if len(run) != len(compositions):
            raise ValueError(f"sample {k}: {len(run)} structures for {len(compositions)} compositions")
        for c, s in zip(compositions, run):
            name = f"{c.row}_{k}.cif" if s is not None else ""
            if s is not None:
                write_cif(s, out / name)
            rows.append(IndexRow(c.row, c.material_id, c.formula, k, name))
    rows.sort(key=lambda r: (r.row, r.sample))
    written = sum(1 for r in rows if r.path)
    return WrittenFolder(write_index(rows, out / "index.csv"), written, len(rows) - written)


def write_generation_folder(out: str | os.PathLike, structures: Sequence) -> WrittenFolder:
    """Write generated cells (pymatgen Structures, None for a sample that is no cell) as ``gen_<i>.cif``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, s in enumerate(structures):
        name = f"gen_{i}.cif" if s is not None else ""
        if s is not None:
            write_cif(s, out / name)
        rows.append(IndexRow(None, "", s.composition.formula.replace(" ", "") if s is not None else "", i, name))
    written = sum(1 for r in rows if r.path)
    return WrittenFolder(write_index(rows, out / "index.csv"), written, len(rows) - written)
