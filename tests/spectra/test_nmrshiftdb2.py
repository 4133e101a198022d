"""The NMRShiftDB2 reader: real records (shift lists, spectrum kinds, metadata), the QM9-like filter, and
hand-written bad lines naming the file and line."""
import gzip
import json

import pytest

from morphogen.spectra.data.nmrshiftdb2 import QM9_LIKE, iter_nmrshiftdb2, parse_shifts, read_nmrshiftdb2
from morphogen.spectra.errors import SpectraDataError


@pytest.fixture
def nmr(shared_data):
    return shared_data / "spectra" / "nmrshiftdb2.jsonl.gz"


def _first(path, n):
    out = []
    for rec in iter_nmrshiftdb2(path):
        out.append(rec)
        if len(out) == n:
            return out


def test_real_records(nmr):
    recs = _first(nmr, 125)
    nitro, fluoro, bromo = recs[:3]
    assert nitro.smiles == "O=[N+]([O-])c1ccsc1" and nitro.nmrshiftdb_id == 9752 and nitro.where == f"{nmr}:1"
    assert nitro.inchi == "InChI=1S/C4H3NO2S/c6-5(7)4-1-2-8-3-4/h1-3H"
    assert nitro.h1 == [7.36, 7.58, 8.24] and nitro.c13 is None and nitro.heavy_atoms == 8
    assert nitro.spectra[0].solvent == "TETRACHLORO-METHANE (CCl4)" and nitro.spectra[0].field_mhz == "60"
    assert fluoro.c13 is None and fluoro.h1 is None and fluoro.spectra[0].nucleus == "19F"
    assert [s.ppm for s in fluoro.spectra[0].shifts] == [-110.3, -58.3, -58.3, -58.3]
    # one entry per carbon, sorted, with multiplicities and atom indices kept
    assert bromo.c13 == [9.9, 9.9, 11.0, 11.0, 24.9, 72.4, 133.8, 133.8, 138.9, 138.9]
    sh = bromo.spectra[0].shifts[0]
    assert (sh.ppm, sh.intensity, sh.multiplicity, sh.atom) == (9.9, 0.0, "Q", 5)
    # line 125: spectra 0, 1 and 4 measured, 2 (ACD/Labs) and 3 (HOSE code) predicted
    menthol = recs[124]
    assert menthol.smiles == "CC1CCC(C(C)C)C(O)C1"
    kinds = {s.number: s.kind for s in menthol.spectra}
    assert kinds == {0: "experimental", 1: "experimental", 2: "predicted", 3: "predicted", 4: "experimental"}
    assert menthol.chosen("13C").number == 0 and menthol.c13[0] == 16.1 and len(menthol.c13) == 10
    assert menthol.chosen("1H").number == 4 and len(menthol.h1) == 19 and menthol.h1 == sorted(menthol.h1)


def test_qm9_like_filter(nmr):
    recs = read_nmrshiftdb2(nmr, **QM9_LIKE, require=("13C", "1H"), limit=5)
    assert len(recs) == 5
    for r in recs:
        assert r.heavy_atoms <= 9 and set(r.heavy_elements) <= {"C", "N", "O", "F"}
        assert r.c13 and r.h1 and r.c13 == sorted(r.c13)
    with pytest.raises(ValueError, match="require"):
        read_nmrshiftdb2(nmr, require=("19F",))


def test_parse_shifts():
    s = parse_shifts("1.5;0.3br s;2|-3e1;1;0|", "x")
    assert [(a.ppm, a.intensity, a.multiplicity, a.atom) for a in s] == [(1.5, 0.3, "br s", 2), (-30.0, 1.0, "", 0)]
    assert parse_shifts("", "x") == []


@pytest.mark.parametrize("text, match", [
    ("1.0;0.0S|", "has 2 fields"),
    ("abc;0.0S;1|", "the shift 'abc' is not a number"),
    ("nan;0.0S;1|", "non-finite"),
    ("1.0;infS;1|", "does not start with an intensity"),
    ("1.0;0.0S;-1|", "atom index '-1'"),
    ("1.0;0.0S;1||2.0;0.0S;2|", "empty entry 1"),
])
def test_bad_shift_strings(text, match):
    with pytest.raises(SpectraDataError, match=match):
        parse_shifts(text, "f:3")


GOOD = {"SMILES": "CCO", "INChI": "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3", "nmrshiftdb2 ID": 1,
        "Spectrum 13C 0": "58.0;0.0T;1|18.0;0.0Q;0|", "Spectrum 1H 1": "1.2;0.0;0|1.2;0.0;0|1.2;0.0;0|3.7;0.0;1|"
        "3.7;0.0;1|2.6;0.0;2|", "Program": "1:HOSE code using nmrshiftdb2 data "}


@pytest.mark.parametrize("line, match", [
    (json.dumps({**GOOD, "Spectrum 13C 0": "58.0;0.0T;1|NaN;0.0Q;0|"}), r"\(Spectrum 13C 0\): .*non-finite"),
    (json.dumps({**GOOD, "SMILES": "C1CC("}), "RDKit cannot parse the SMILES 'C1CC\\('"),
    (json.dumps({**GOOD, "SMILES": ""}), "no SMILES"),
    ("[1, 2]", "must be a JSON object"),
    ('{"SMILES": "C"', "not JSON"),
    ("", "empty line"),
])
def test_bad_lines_name_the_line(tmp_path, line, match):
    path = tmp_path / "db.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps(GOOD) + "\n" + line + "\n")
    with pytest.raises(SpectraDataError, match=match) as err:
        list(iter_nmrshiftdb2(path))
    assert str(err.value).startswith(f"{path}:2")


def test_hand_written_record_and_predicted_spectra(tmp_path):
    path = tmp_path / "db.jsonl"
    path.write_text(json.dumps(GOOD) + "\n")
    (rec,) = read_nmrshiftdb2(path)
    assert rec.c13 == [18.0, 58.0] and rec.h1 is None  # the only 1H spectrum is predicted
    assert read_nmrshiftdb2(path, require=("1H",)) == []
    (rec,) = read_nmrshiftdb2(path, require=("1H",), include_predicted=True)
    assert rec.h1 == [1.2, 1.2, 1.2, 2.6, 3.7, 3.7] and rec.chosen("1H", True).kind == "predicted"
    with pytest.raises(SpectraDataError, match="not found"):
        read_nmrshiftdb2(tmp_path / "none.jsonl")
