"""The molecules of a spectrum set: --indices files (gdb numbers, GDSS's valid_idx_qm9.json), QM9 selections with
the molecules qm9pack lacks, and SMILES files."""
import json

import pytest

from morphogen.spectra.data.sources import qm9_molecules, read_qm9_indices, read_smiles_file
from morphogen.spectra.errors import SpectraDataError


def test_indices_formats(tmp_path):
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps([3, "1", 58]))
    assert read_qm9_indices(plain) == [3, 1, 58]  # gdb numbers, in the file's order
    gdss = tmp_path / "gdss.json"
    gdss.write_text(json.dumps({"valid_idxs": ["000002", "000000", "000057"]}))
    assert read_qm9_indices(gdss) == [3, 1, 58]  # 0-based rows of the QM9 CSV: gdb = row + 1


@pytest.mark.parametrize("content, match", [
    ("[1, 2", "not a JSON file"),
    ('{"idx": [1]}', "without the key 'valid_idxs'"),
    ('"12"', "expected a JSON list"),
    ("[]", "no indices"),
    ("[1, 2.5]", "entry 1 is 2.5"),
    ("[1, true]", "entry 1 is True"),
    ("[0]", "outside QM9's 1..133885"),
    ('{"valid_idxs": ["133885"]}', r"row 133885 \(gdb 133886\) is outside"),
    ("[4, 7, 4]", "entry 2 repeats gdb 4"),
])
def test_bad_indices_files_name_the_file(tmp_path, content, match):
    path = tmp_path / "idx.json"
    path.write_text(content)
    with pytest.raises(SpectraDataError, match=match) as err:
        read_qm9_indices(path)
    assert str(path) in str(err.value)
    with pytest.raises(SpectraDataError, match="not found"):
        read_qm9_indices(tmp_path / "missing.json")


def test_qm9_selection_reports_what_qm9pack_lacks():
    sel = qm9_molecules([3, 58, 1])
    assert [m.id for m in sel.molecules] == [3, 1] and sel.molecules[0].smiles == "O"
    assert sel.molecules[1].elements == ("C", "H", "H", "H", "H") and sel.molecules[1].positions.shape == (5, 3)
    assert [m[0] for m in sel.missing] == [58] and "not in qm9pack" in sel.missing[0][2]
    assert [m.id for m in qm9_molecules([3, 58, 1], limit=2).molecules] == [3]
    assert [m.id for m in qm9_molecules(limit=3).molecules] == [1, 2, 3]


def test_real_gdss_file_maps_to_gdb_numbers(shared_data):
    from morphogen.molecules.qm9 import read_qm9

    path = shared_data / "graphs" / "molecules" / "valid_idx_qm9.json"
    raw = json.loads(path.read_text())["valid_idxs"]
    gdb = read_qm9_indices(path)
    assert len(gdb) == len(raw) == 13082 and gdb[0] == int(raw[0]) + 1 == 7279
    # the same 168 molecules the graphs domain's GDSS split reports missing from qm9pack
    have = {r.index + 1 for r in read_qm9()}
    assert sum(g not in have for g in gdb) == 168


def test_smiles_files(tmp_path):
    path = tmp_path / "m.smi"
    path.write_text("SMILES name\nO water\n\n# a comment\nC\nC1CC( broken\n")
    mols = read_smiles_file(path)
    assert [(m.id, m.smiles) for m in mols] == [("water", "O"), (5, "C"), ("broken", "C1CC(")]
    assert mols[1].where == f"{path}:5" and mols[1].elements is None
    assert [m.id for m in read_smiles_file(path, limit=2)] == ["water", 5]


@pytest.mark.parametrize("content, line, match", [
    (b"O a\nC a\n", 2, "id 'a' is already used on line 1"),
    (b"O\n5 x\nC 1\n", 3, "id '1' is already used on line 1"),  # a name that is another line's number
    (b"O\nC\xff\xfe\n", 2, "not UTF-8"),
    (b"O\nC\x00C\n", 2, "NUL byte"),
])
def test_bad_smiles_file_lines_are_named(tmp_path, content, line, match):
    path = tmp_path / "bad.smi"
    path.write_bytes(content)
    with pytest.raises(SpectraDataError, match=match) as err:
        read_smiles_file(path)
    assert err.value.where == f"{path}:{line}"
    empty = tmp_path / "empty.smi"
    empty.write_text("# nothing\n\n")
    with pytest.raises(SpectraDataError, match="no SMILES"):
        read_smiles_file(empty)
