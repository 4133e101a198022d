"""NMRShiftDB2 (Steinbeck, Krause and Kuhn 2003; Kuhn and Schloerer 2015) assigned shift lists, from a JSON-lines
export (``nmrshiftdb2.jsonl.gz``: one molecule a line).

A line is a JSON object with ``SMILES``, ``INChI``, ``nmrshiftdb2 ID`` and one key per spectrum,
``"Spectrum <nucleus> <k>"`` (``13C``, ``1H``, ``19F``, ``31P``, ``11B``, ..., and 2-D kinds such as ``H,H-COSY``;
``k`` numbers the record's spectra), whose value is ``shift;intensity<multiplicity>;atom|...|``, e.g.
``"9.9;0.0Q;5|72.4;0.0S;0|"``: shift in ppm, a relative intensity (often 0.0) followed directly by the multiplicity
(``S D T Q`` for 13C, ``s d t dd m br s ...`` for 1H, often empty), and the 0-based index of the assigned atom in
NMRShiftDB2's own atom numbering (not the SMILES order). A 1H list has one entry per hydrogen (three for a
methyl group), a 13C list one per carbon.

Spectrum metadata keys (``Solvent``, ``Temperature [K]``, ``Field Strength [MHz]``, ``Program``, ...) hold
``"<k>:<value> <k>:<value> "`` for the spectra they describe. A spectrum listed in ``Program`` (ACD/Labs, HOSE-code,
CSEARCH predictors) is *predicted*; one listed in ``NMRProgram`` (GIAO calculations) is *calculated*; every other
one is *experimental*. A record's :attr:`NMRRecord.c13` and :attr:`NMRRecord.h1` are the sorted shifts of its
lowest-numbered non-empty experimental spectrum of that nucleus (with ``include_predicted``, a predicted or
calculated one where no experimental one exists); every spectrum stays in :attr:`NMRRecord.spectra`.

In the export read here (51,245 records, all SMILES parsable by RDKit) 20 13C / 1H spectra are empty strings: kept
in ``spectra`` with no shifts and never chosen. Any other bad shift entry, a non-finite number, an unparsable
SMILES or a line that is not a JSON object raises :class:`SpectraDataError` naming the file and line.
"""
from __future__ import annotations

import gzip
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from morphogen.spectra.errors import SpectraDataError

KINDS = ("experimental", "predicted", "calculated")
_SPECTRUM_KEY = re.compile(r"^Spectrum (.+) (\d+)$")
_INTENSITY = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(.*)$")
_META_KEY = re.compile(r"(?:^|(?<=\s))(\d+):")
QM9_LIKE = {"elements": ("C", "N", "O", "F"), "max_heavy_atoms": 9}  # QM9's chemical space, for read_nmrshiftdb2


@dataclass
class Shift:
    """One assigned peak: ``ppm``, relative ``intensity``, ``multiplicity`` (as written, may be empty) and ``atom``
    (NMRShiftDB2's 0-based atom index)."""

    ppm: float
    intensity: float
    multiplicity: str
    atom: int


@dataclass
class NMRSpectrum:
    """One spectrum of a record: ``nucleus`` (``"13C"``, ``"1H"``, ...), ``number`` (its k in the record),
    ``kind`` (experimental | predicted | calculated), ``shifts`` in the file's order, and the metadata written
    for it (None where absent or ``Unreported``)."""

    nucleus: str
    number: int
    kind: str
    shifts: list[Shift]
    solvent: str | None = None
    temperature: str | None = None
    field_mhz: str | None = None

    @property
    def ppm(self) -> list[float]:
        """The shifts in ppm, ascending."""
        return sorted(s.ppm for s in self.shifts)


@dataclass
class NMRRecord:
    """One molecule: ``where`` (``"path:line"``), ``nmrshiftdb_id``, ``smiles``, ``inchi`` (None if absent),
    ``heavy_atoms`` (RDKit's count) and ``heavy_elements`` (sorted symbols), ``c13`` / ``h1`` (sorted ppm of the
    chosen spectrum, see the module docstring; None without one) and every 1-D spectrum in ``spectra`` (2-D kinds
    such as COSY are not read)."""

    where: str
    nmrshiftdb_id: int | None
    smiles: str
    inchi: str | None
    heavy_atoms: int
    heavy_elements: tuple[str, ...]
    c13: list[float] | None
    h1: list[float] | None
    spectra: list[NMRSpectrum] = field(default_factory=list)

    def chosen(self, nucleus: str, include_predicted: bool = False) -> NMRSpectrum | None:
        """The spectrum of ``nucleus`` that :attr:`c13` / :attr:`h1` come from (see the module docstring)."""
        cands = sorted((s for s in self.spectra if s.nucleus == nucleus and s.shifts), key=lambda s: s.number)
        exp = [s for s in cands if s.kind == "experimental"]
        if exp:
            return exp[0]
        return cands[0] if include_predicted and cands else None


def parse_shifts(text: str, where: str) -> list[Shift]:
    """The entries of one ``shift;intensity<multiplicity>;atom|...`` string ('' gives no entries)."""
    if not isinstance(text, str):
        raise SpectraDataError(where, f"a shift list must be a string, got {type(text).__name__}")
    out: list[Shift] = []
    for k, part in enumerate(text.split("|")):
        if not part.strip():
            if part == "" and k == len(text.split("|")) - 1:
                continue  # the trailing '|'
            raise SpectraDataError(where, f"empty entry {k} in the shift list '{text[:60]}'")
        fields = part.split(";")
        if len(fields) != 3:
            raise SpectraDataError(where, f"shift entry {k} '{part}' has {len(fields)} fields, expected 3 "
                                          f"(shift;intensity+multiplicity;atom)")
        try:
            ppm = float(fields[0])
        except ValueError:
            raise SpectraDataError(where, f"shift entry {k} '{part}': the shift '{fields[0]}' is not a "
                                          f"number") from None
        m = _INTENSITY.match(fields[1].strip())
        if m is None:
            raise SpectraDataError(where, f"shift entry {k} '{part}': '{fields[1]}' does not start with an "
                                          f"intensity")
        intensity = float(m.group(1))
        if not (math.isfinite(ppm) and math.isfinite(intensity)):
            raise SpectraDataError(where, f"shift entry {k} '{part}': a non-finite number")
        atom = fields[2].strip()
        if not atom.isdigit():
            raise SpectraDataError(where, f"shift entry {k} '{part}': the atom index '{fields[2]}' is not a "
                                          f"non-negative integer")
        out.append(Shift(ppm, intensity, m.group(2).strip(), int(atom)))
    return out


def _metadata(value, numbers: set[int]) -> dict[int, str]:
    """``"0:298 1:Unreported "`` -> {0: "298", 1: "Unreported"}, splitting only at the record's spectrum numbers."""
    if not isinstance(value, str):
        return {}
    marks = [m for m in _META_KEY.finditer(value) if int(m.group(1)) in numbers]
    return {int(m.group(1)): value[m.end():(marks[i + 1].start() if i + 1 < len(marks) else len(value))].strip()
            for i, m in enumerate(marks)}


def _known(v: str | None) -> str | None:
    return None if v is None or v == "" or v.lower() == "unreported" else v


def parse_record(data: dict, where: str) -> NMRRecord:
    """One NMRShiftDB2 JSON object (see the module docstring)."""
    from rdkit import Chem, RDLogger

    if not isinstance(data, dict):
        raise SpectraDataError(where, f"a line must be a JSON object, got {type(data).__name__}")
    smiles = data.get("SMILES")
    if not isinstance(smiles, str) or not smiles.strip():
        raise SpectraDataError(where, "no SMILES")
    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise SpectraDataError(where, f"RDKit cannot parse the SMILES {smiles!r}")
    keys = {}
    for k in data:
        m = _SPECTRUM_KEY.match(k)
        if m:
            keys[k] = (m.group(1), int(m.group(2)))
    numbers = {n for _, n in keys.values()}
    predicted = set(_metadata(data.get("Program"), numbers))
    calculated = set(_metadata(data.get("NMRProgram"), numbers)) | set(_metadata(data.get("NMRMethod"), numbers))
    solvent = _metadata(data.get("Solvent"), numbers)
    temperature = _metadata(data.get("Temperature [K]"), numbers)
    field_mhz = _metadata(data.get("Field Strength [MHz]"), numbers)
    spectra = []
    for k, (nucleus, n) in sorted(keys.items(), key=lambda kv: kv[1][1]):
        if not re.fullmatch(r"\d+[A-Z][a-z]?", nucleus):
            continue  # a 2-D or other experiment (H,H-COSY, APT, ...)
        kind = "calculated" if n in calculated else "predicted" if n in predicted else "experimental"
        shifts = parse_shifts(data[k], f"{where} ({k})")
        spectra.append(NMRSpectrum(nucleus, n, kind, shifts, _known(solvent.get(n)), _known(temperature.get(n)),
                                   _known(field_mhz.get(n))))
    ident = data.get("nmrshiftdb2 ID")
    inchi = data.get("INChI")
    heavy = tuple(sorted({a.GetSymbol() for a in mol.GetAtoms() if a.GetAtomicNum() > 1}))
    return NMRRecord(where, int(ident) if isinstance(ident, (int, str)) and str(ident).isdigit() else None,
                     smiles, inchi if isinstance(inchi, str) and inchi else None, mol.GetNumHeavyAtoms(), heavy,
                     None, None, spectra)


def with_chosen_spectra(rec: NMRRecord, include_predicted: bool = False) -> NMRRecord:
    """``rec`` with :attr:`~NMRRecord.c13` and :attr:`~NMRRecord.h1` set from its chosen spectra (module docstring)."""
    c, h = rec.chosen("13C", include_predicted), rec.chosen("1H", include_predicted)
    rec.c13 = c.ppm if c is not None else None
    rec.h1 = h.ppm if h is not None else None
    return rec


def iter_nmrshiftdb2(path: str | Path, include_predicted: bool = False) -> Iterator[NMRRecord]:
    """Every record of the file (``.jsonl`` or ``.jsonl.gz``), in order."""
    path = Path(path)
    if not path.is_file():
        raise SpectraDataError(str(path), "NMRShiftDB2 file not found")
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for k, line in enumerate(fh, 1):
                where = f"{path}:{k}"
                if not line.strip():
                    raise SpectraDataError(where, "empty line")
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as err:
                    raise SpectraDataError(where, f"not JSON ({err})") from None
                yield with_chosen_spectra(parse_record(data, where), include_predicted)
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as err:
        raise SpectraDataError(str(path), f"cannot read the file ({err})") from None


def read_nmrshiftdb2(path: str | Path, elements: Sequence[str] | None = None, max_heavy_atoms: int | None = None,
                     require: Sequence[str] = (), include_predicted: bool = False,
                     limit: int | None = None) -> list[NMRRecord]:
    """The records of an NMRShiftDB2 export, filtered: only heavy atoms from ``elements`` (e.g. C N O F), at most
    ``max_heavy_atoms`` of them, and a chosen spectrum of every nucleus in ``require`` (``"13C"``, ``"1H"``);
    the first ``limit`` that pass. ``read_nmrshiftdb2(path, **QM9_LIKE, require=("13C", "1H"))`` gives QM9's
    chemical space with both spectra."""
    for nuc in require:
        if nuc not in ("13C", "1H"):
            raise ValueError(f"require takes '13C' and '1H', got {nuc!r}")
    allowed = None if elements is None else set(elements)
    out: list[NMRRecord] = []
    for rec in iter_nmrshiftdb2(path, include_predicted):
        if max_heavy_atoms is not None and rec.heavy_atoms > max_heavy_atoms:
            continue
        if allowed is not None and not set(rec.heavy_elements) <= allowed:
            continue
        if any((rec.c13 if nuc == "13C" else rec.h1) is None for nuc in require):
            continue
        out.append(rec)
        if limit is not None and len(out) >= limit:
            break
    return out

