"""A prediction or generation folder: one CIF per sampled cell and an index.csv (see :mod:`.cif` for the columns),
the layout ``morphogen crystals evaluate`` reads.

* CSP: ``<row>_<k>.cif`` for sample k of the composition in data row ``row``; index rows sorted by (row, sample);
* generation: ``gen_<i>.cif``; ``row`` empty, ``sample`` = i, ``formula`` the generated cell's.

A sample that is no cell gets an index row with an empty ``path`` (it counts as invalid), never a silent gap.

index.csv is written last, after every CIF it lists, and the index.csv of an earlier run (with its metrics.json,
which scored the earlier samples) is removed before the first CIF is written; every file is written atomically. A
folder with an index.csv therefore holds one complete run, and an interrupted one (e.g. a full disk, which raises
:class:`morphogen.utils.outputs.OutputWriteError` naming the file) has complete CIFs and no index.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from morphogen.crystals.io.cif import IndexRow, write_cif, write_index

INDEX_NAME = "index.csv"
STALE = (INDEX_NAME, "metrics.json")  # removed before a run writes its first CIF


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
    from morphogen.utils.outputs import remove_stale

    for k, run in enumerate(samples):
        if len(run) != len(compositions):
            raise ValueError(f"sample {k}: {len(run)} structures for {len(compositions)} compositions")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale(out, *STALE)
    rows = []
    for k, run in enumerate(samples):
        for c, s in zip(compositions, run):
            name = f"{c.row}_{k}.cif" if s is not None else ""
            if s is not None:
                write_cif(s, out / name)
            rows.append(IndexRow(c.row, c.material_id, c.formula, k, name))
    rows.sort(key=lambda r: (r.row, r.sample))
    written = sum(1 for r in rows if r.path)
    return WrittenFolder(write_index(rows, out / INDEX_NAME), written, len(rows) - written)


def write_generation_folder(out: str | os.PathLike, structures: Sequence) -> WrittenFolder:
    """Write generated cells (pymatgen Structures, None for a sample that is no cell) as ``gen_<i>.cif``."""
    from morphogen.utils.outputs import remove_stale

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale(out, *STALE)
    rows = []
    for i, s in enumerate(structures):
        name = f"gen_{i}.cif" if s is not None else ""
        if s is not None:
            write_cif(s, out / name)
        rows.append(IndexRow(None, "", s.composition.formula.replace(" ", "") if s is not None else "", i, name))
    written = sum(1 for r in rows if r.path)
    return WrittenFolder(write_index(rows, out / INDEX_NAME), written, len(rows) - written)
