"""CAMUS (Leclerc et al. 2019, IEEE TMI): 2D apical echocardiography, two- and four-chamber views, at end-diastole
(ED) and end-systole (ES), with expert label maps.

```
ROOT/patientNNNN/patientNNNN_{2CH,4CH}_{ED,ES}.mhd (+ .raw)       the image (2019 release, MetaImage)
ROOT/patientNNNN/patientNNNN_{2CH,4CH}_{ED,ES}_gt.mhd (+ .raw)    its label map
ROOT/patientNNNN/Info_2CH.cfg, Info_4CH.cfg                       "ED: 1", "ES: 14", "NbFrame: 18", "Sex: F",
                                                                  "Age: 57", "ImageQuality: Good", "LVedv: ..."
```

The 2023 release names the same files ``.nii.gz`` (and adds ``*_half_sequence*.nii.gz``, the whole cycle, which is
not read here, nor the 2019 ``*_sequence.mhd``). ROOT may also be the folder that holds ``training/`` (2019) or
``database_nifti/`` (2023), the folder of the patient folders. Images are about 600 x 800 (W x H, portrait); the
pixel spacing is the file's own.

Labels of the maps: 0 background, 1 LV endocardium (the cavity), 2 myocardium, 3 left atrium; a record's
foreground is one of them (``label``), taken as it is (no hole filling).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

from morphogen.medical.data.records import SegmentationRecord
from morphogen.medical.errors import MedicalDataError

VIEWS = ("2CH", "4CH")
PHASES = ("ED", "ES")
LABELS = {1: "LV endocardium", 2: "myocardium", 3: "left atrium"}
SUBFOLDERS = ("training", "database_nifti")
PATIENT = re.compile(r"^patient\d+$", re.IGNORECASE)
FILE = re.compile(r"^(?P<patient>patient\d+)_(?P<view>2CH|4CH)_(?P<phase>ED|ES)(?P<gt>_gt)?"
                  r"(?P<suffix>\.mhd|\.nii\.gz|\.nii)$", re.IGNORECASE)
#: Info cfg keys whose values are numbers (an unreadable one is an error)
INFO_INTEGERS = ("ED", "ES", "NbFrame", "Age")
INFO_FLOATS = ("LVedv", "LVesv", "LVef")


def read_info(path: str | os.PathLike) -> dict[str, str]:
    """A patient's ``Info_<view>.cfg`` as key -> value text (``ED: 1`` -> {"ED": "1"}).

    Raises :class:`MedicalDataError` naming the file and line for a line that is not ``key: value``, or whose
    value of a numeric key (ED, ES, NbFrame, Age; LVedv, LVesv, LVef) is not a number."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise MedicalDataError(f"{p}: not a text file") from None
    info: dict[str, str] = {}
    for line_no, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        key, sep, value = (s.strip() for s in line.partition(":"))
        if not sep or not key:
            raise MedicalDataError(f"{p}, line {line_no}: expected 'key: value', got {line[:80]!r}")
        kind = int if key in INFO_INTEGERS else float if key in INFO_FLOATS else None
        if kind is not None:
            try:
                kind(value)
            except ValueError:
                raise MedicalDataError(f"{p}, line {line_no}: {key} must be a number, got {value!r}") from None
        info[key] = value
    return info


def patients_folder(root: str | os.PathLike) -> Path:
    """The folder holding the ``patientNNNN/`` folders: ROOT itself, or its ``training/`` or ``database_nifti/``."""
    root = Path(root)
    if not root.is_dir():
        raise MedicalDataError(f"{root}: no such folder")
    for folder in (root, *(root / s for s in SUBFOLDERS)):
        if folder.is_dir() and any(d.is_dir() and PATIENT.match(d.name) for d in folder.iterdir()):
            return folder
    raise MedicalDataError(f"{root}: no CAMUS patient folder (patientNNNN/) here, nor in "
                           f"{' or '.join(s + '/' for s in SUBFOLDERS)}")


def _files_of(folder: Path) -> dict[tuple[str, str, bool], Path]:
    """(view, phase, is ground truth) -> file, for a patient folder; refuses a file of another patient and two
    formats of one file."""
    found: dict[tuple[str, str, bool], Path] = {}
    for f in sorted(folder.iterdir()):
        m = FILE.match(f.name)
        if not m or not f.is_file():
            continue
        if m.group("patient").lower() != folder.name.lower():
            raise MedicalDataError(f"{f}: a file of {m.group('patient')} in the folder of {folder.name}")
        key = (m.group("view").upper(), m.group("phase").upper(), m.group("gt") is not None)
        if key in found:
            raise MedicalDataError(f"{f}: the same image as {found[key].name} in another format; keep one")
        found[key] = f
    return found


def read_camus(root: str | os.PathLike, views: Sequence[str] = VIEWS, phases: Sequence[str] = PHASES,
               label: int = 1) -> list[SegmentationRecord]:
    """The records of every CAMUS patient folder under ``root`` for the given views and phases, sorted by patient,
    view and phase.

    Args:
        root: the folder of the ``patientNNNN/`` folders, or the one holding ``training/`` or ``database_nifti/``.
        views: of "2CH", "4CH".
        phases: of "ED", "ES".
        label: the foreground label (1 LV endocardium, 2 myocardium, 3 left atrium).

    Records: id = the file stem (``patient0001_4CH_ED``), subject = the patient folder, ``fill=False``, spacing
    from the file, extra = {"view", "phase", "quality" (``ImageQuality`` of ``Info_<view>.cfg``, when there is
    one)}.

    Raises :class:`MedicalDataError` naming the file for an image without its ground truth or the reverse, a
    patient folder without a requested image, an unreadable Info cfg line, or when there is no patient folder."""
    views = _choice("views", views, VIEWS)
    phases = _choice("phases", phases, PHASES)
    if isinstance(label, bool) or label not in LABELS:
        raise ValueError(f"CAMUS label must be one of {LABELS}, got {label!r}")
    folder = patients_folder(root)
    out = []
    for patient in sorted(d for d in folder.iterdir() if d.is_dir() and PATIENT.match(d.name)):
        found = _files_of(patient)
        for view in views:
            info_path = patient / f"Info_{view}.cfg"
            info = read_info(info_path) if info_path.is_file() else None
            for phase in phases:
                stem = f"{patient.name}_{view}_{phase}"
                image, gt = found.get((view, phase, False)), found.get((view, phase, True))
                if image is None and gt is None:
                    raise MedicalDataError(f"{patient}: no {stem} image (.mhd or .nii.gz) and no ground truth")
                if gt is None:
                    raise MedicalDataError(f"{image}: its ground truth {stem}_gt is missing")
                if image is None:
                    raise MedicalDataError(f"{gt}: a ground truth without its image {stem}")
                extra = {"view": view, "phase": phase}
                if info is not None and "ImageQuality" in info:
                    extra["quality"] = info["ImageQuality"]
                out.append(SegmentationRecord(id=stem, subject=patient.name, image=image, mask=gt, label=label,
                                              fill=False, extra=extra))
    return out


def _choice(name: str, given: Sequence[str], allowed: Sequence[str]) -> tuple[str, ...]:
    values = (given,) if isinstance(given, str) else tuple(given)
    norm = tuple(str(v).upper() for v in values)
    bad = [v for v, n in zip(values, norm) if n not in allowed]
    if bad or not norm:
        raise ValueError(f"CAMUS {name} must be a non-empty choice of {allowed}, got {list(values)}")
    if len(set(norm)) != len(norm):
        raise ValueError(f"CAMUS {name} repeat a value: {list(values)}")
    return norm
