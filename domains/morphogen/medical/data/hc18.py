"""HC18 (van den Heuvel et al. 2018, Zenodo 1327317) in its challenge layout.

```
ROOT/training_set/NNN_HC.png                 800 x 540 grey ultrasound (a few are smaller)
ROOT/training_set/NNN_HC_Annotation.png      the head's ellipse, drawn as an outline (filled here)
ROOT/training_set_pixel_size_and_HC.csv      filename, pixel size(mm), head circumference (mm)
ROOT/test_set/NNN_HC.png                     unlabelled
ROOT/test_set_pixel_size.csv                 filename, pixel size(mm)
```

Subjects: the number prefix; ``010_HC.png`` and ``010_2HC.png`` are two images of subject 010.
"""
from __future__ import annotations

import csv
import os
import re
from pathlib import Path

from morphogen.medical.data.records import SegmentationRecord
from morphogen.medical.errors import MedicalDataError

NAME = re.compile(r"^(?P<subject>\d+)_(?P<rep>\d*)HC$")
SPLITS = {"train": ("training_set", "training_set_pixel_size_and_HC.csv"),
          "test": ("test_set", "test_set_pixel_size.csv")}


def subject_of(stem: str) -> str:
    """``010_2HC`` -> ``010``; anything that does not follow HC18's naming is its own subject."""
    m = NAME.match(stem)
    return m.group("subject") if m else stem


def read_table(path: Path) -> dict[str, dict[str, float]]:
    """filename -> {"pixel_size": mm, "hc_mm": mm (training table only)}; a UTF-8 BOM is tolerated; a row that
    cannot be read names its line."""
    out: dict[str, dict[str, float]] = {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header:
            raise MedicalDataError(f"{path}: empty table")
        cols = [h.strip().lower() for h in header]
        if "filename" not in cols or not any(c.startswith("pixel size") for c in cols):
            raise MedicalDataError(f"{path}: expected the columns 'filename' and 'pixel size(mm)', got {header}")
        i_name = cols.index("filename")
        i_px = next(i for i, c in enumerate(cols) if c.startswith("pixel size"))
        i_hc = next((i for i, c in enumerate(cols) if c.startswith("head circumference")), None)
        for line, row in enumerate(reader, start=2):
            if not row or not any(cell.strip() for cell in row):
                continue
            try:
                rec = {"pixel_size": float(row[i_px])}
                if i_hc is not None:
                    rec["hc_mm"] = float(row[i_hc])
            except (ValueError, IndexError):
                raise MedicalDataError(f"{path}, line {line}: cannot read the numbers of {row}") from None
            if not rec["pixel_size"] > 0:
                raise MedicalDataError(f"{path}, line {line}: pixel size must be positive, got {row[i_px]}")
            out[row[i_name].strip()] = rec
    return out


def read_hc18(root: str | os.PathLike, split: str = "train") -> list[SegmentationRecord]:
    """The records of one HC18 split (``train``: labelled, ``test``: unlabelled), sorted by file name.

    Every image of the table must exist and, for ``train``, have its annotation; an image in the folder that the
    table does not list is an error too (nothing is dropped silently)."""
    if split not in SPLITS:
        raise ValueError(f"HC18 split must be one of {sorted(SPLITS)}, got '{split}'")
    root = Path(root)
    folder_name, table_name = SPLITS[split]
    folder, table = root / folder_name, root / table_name
    if not folder.is_dir():
        raise MedicalDataError(f"{root}: no HC18 folder {folder_name}/ here")
    if not table.is_file():
        raise MedicalDataError(f"{root}: no HC18 table {table_name} here")
    rows = read_table(table)
    images = {p.name for p in folder.glob("*_HC.png")} | {p.name for p in folder.glob("*HC.png")
                                                           if not p.name.endswith("_Annotation.png")}
    unlisted = sorted(images - set(rows))
    if unlisted:
        raise MedicalDataError(f"{table}: does not list {len(unlisted)} image(s) of {folder}, e.g. {unlisted[:3]}")
    out = []
    for name in sorted(rows):
        img = folder / name
        if not img.is_file():
            raise MedicalDataError(f"{table}: lists {name}, which is not in {folder}")
        stem = img.stem
        mask = None
        if split == "train":
            mask = folder / f"{stem}_Annotation.png"
            if not mask.is_file():
                raise MedicalDataError(f"{img}: its annotation {mask.name} is missing")
        px = rows[name]["pixel_size"]
        out.append(SegmentationRecord(id=stem, subject=subject_of(stem), image=img, mask=mask, fill=True,
                                      spacing=(px, px), hc_mm=rows[name].get("hc_mm")))
    if not out:
        raise MedicalDataError(f"{table}: lists no image")
    return out
