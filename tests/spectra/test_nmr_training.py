"""NMR elucidation data: molecules of the NMRShiftDB2 format with embedded geometries, the split by structure, the
QM9 prior without spectra in one batch with NMR molecules, NMRShiftDB2 lines as elucidate input, the retrieval
baseline on hand-made spectra, and a training step of the `nmrshiftdb2` preset through the command line."""
import json

import numpy as np
import pytest
import torch

from morphogen.spectra.errors import SpectraDataError

pytest.importorskip("rdkit")


def _line(ident, smiles, c13, h1):
    return {"SMILES": smiles, "nmrshiftdb2 ID": ident,
            "Spectrum 13C 0": "".join(f"{v};0.0;{k}|" for k, v in enumerate(c13)),
            "Spectrum 1H 1": "".join(f"{v};0.0;{k}|" for k, v in enumerate(h1))}


LINES = [_line(1, "CCO", [18.1, 58.3], [1.22, 3.69]), _line(2, "OCC", [18.0, 58.5], [1.2, 3.7]),  # one structure
         _line(3, "CC(C)=O", [30.8, 206.7], [2.17]), _line(4, "c1ccccc1", [128.4], [7.36]),
         _line(5, "CC#N", [1.8, 116.9], [2.0]), _line(6, "CCCCCCCCCC", [14.1, 22.7, 31.9, 29.4, 29.7], [0.9, 1.3]),
         _line(7, "OC(=O)C", [20.8, 178.1], [2.1, 11.4]), _line(8, "CCl", [25.0], [3.0]),
         _line(9, "CC(F)(F)F", [16.0, 126.0], [1.9]), _line(10, "NCC", [19.0, 36.9], [1.1, 2.7])]


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("MORPHOGEN_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "db.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in LINES))
    return path


def test_nmr_molecules_geometry_bonds_and_filter(db):
    from morphogen.spectra.data.nmr import nmr_molecules

    mols = nmr_molecules(db)
    # decane (10 heavy atoms) and chloromethane (Cl) are outside QM9's space
    assert [m.id for m in mols] == [1, 2, 3, 4, 5, 7, 9, 10]
    ethanol = mols[0]
    assert ethanol.elements.count("H") == 6 and ethanol.num_atoms == 9 and ethanol.c13 == [18.1, 58.3]
    assert np.allclose(ethanol.pos.mean(0), 0, atol=1e-6)
    d = np.linalg.norm(ethanol.pos[ethanol.bonds[:, 0]] - ethanol.pos[ethanol.bonds[:, 1]], axis=1)
    assert len(ethanol.bonds) == 8 and (d > 0.9).all() and (d < 1.6).all()  # bonds at bond lengths
    benzene = mols[3]
    assert sorted(benzene.orders[[benzene.elements[i] == "C" and benzene.elements[j] == "C"
                                  for i, j in benzene.bonds]].tolist()) == [1, 1, 1, 2, 2, 2]  # Kekulé
    again = nmr_molecules(db)  # from the cache: the same molecules
    assert [m.smiles for m in again] == [m.smiles for m in mols]
    assert np.allclose(again[0].pos, mols[0].pos, atol=1e-4)


def test_split_keeps_a_structure_on_one_side(db):
    from morphogen.spectra.data.nmr import nmr_molecules, split_by_structure

    mols = nmr_molecules(db)
    for seed in range(6):
        parts = split_by_structure(mols, test=0.2, val=0.15, seed=seed)
        sides = {m.id: side for side, ms in parts.items() for m in ms}
        assert sides[1] == sides[2]  # CCO and OCC: one connectivity layer
        assert sum(len(v) for v in parts.values()) == len(mols)
        assert len({m.extra["key"] for m in parts["test"]}) == 1  # round(0.2 * 7 structures)
    with pytest.raises(SpectraDataError, match="cannot give"):
        split_by_structure(mols[:2], test=0.5, val=0.5)


def test_prior_and_nmr_molecules_batch_together(db):
    from morphogen.spectra.data.molecules import SpectraDataset
    from morphogen.spectra.data.nmr import molecule_from_rdkit, nmr_molecules
    from rdkit import Chem

    nmr = nmr_molecules(db)[:2]
    prior = [molecule_from_rdkit(Chem.MolFromSmiles("CCCO"), "qm9:1", "CCCO", "prior")]
    ds = torch.utils.data.ConcatDataset([SpectraDataset(nmr, modalities=("c13", "h1"), repeat=3),
                                         SpectraDataset(prior, modalities=("c13", "h1"))])
    assert len(ds) == 7
    batch = torch.utils.data.default_collate([ds[k] for k in range(len(ds))])
    c = batch["condition"]
    assert c["c13"].shape == (7, 32) and c["c13_mask"][:6].sum(1).tolist() == [2] * 6
    assert not c["c13_mask"][6].any() and not c["h1_mask"][6].any()  # the prior molecule: no spectral tokens
    assert torch.allclose(c["c13"][0, :2], torch.tensor([18.1, 58.3]))


def test_nmrshiftdb2_lines_are_elucidate_input(tmp_path):
    from morphogen.spectra.inputs import formula_of_smiles, read_records

    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(LINES[0]) + "\n" + json.dumps({"id": "x", "nmr_13c": [20.0], "formula": "CH4"}) + "\n")
    a, b = read_records(path, ("c13", "h1"))
    assert a.id == 1 and a.smiles == "CCO" and a.num_atoms == 9 and a.formula.tolist() == [6, 2, 0, 1, 0]
    assert a.condition["c13_mask"].sum() == 2 and a.condition["h1_mask"].sum() == 2
    assert b.condition["c13_mask"].sum() == 1 and "h1" not in b.condition
    assert formula_of_smiles("OC(=O)C", "t") == "C2H4O2" and formula_of_smiles("c1ccccc1F", "t") == "C6H5F"
    path.write_text(json.dumps({"SMILES": "CCO", "Spectrum 19F 0": "1.0;0.0;0|"}) + "\n")
    with pytest.raises(SpectraDataError, match=r"in.jsonl:1: .*without an experimental 13C or 1H"):
        read_records(path, ("c13", "h1"))
    path.write_text(json.dumps({"id": 1, "nmr_13c": list(range(70)), "num_atoms": 5}) + "\n")
    with pytest.raises(SpectraDataError, match="70 shifts, more than the limit of 64"):
        read_records(path, ("c13", "h1"))


def test_retrieval_on_hand_made_spectra():
    from morphogen.spectra.retrieval import SpectralLibrary, shift_curve

    c = shift_curve([10.0, 50.0], "c13")
    assert np.isclose(np.linalg.norm(c), 1.0) and np.isclose(c @ c, 1.0)
    assert abs(shift_curve([10.0], "c13") @ shift_curve([100.0], "c13")) < 1e-12  # far apart: orthogonal
    # two equal Gaussians sigma apart overlap by exp(-1/4)
    assert np.isclose(shift_curve([10.0], "c13") @ shift_curve([11.5], "c13"), np.exp(-0.25), atol=1e-3)
    lib = SpectralLibrary(["CCO", "CC=O", "CCC"], [[18.0, 58.0], [31.0, 200.0], [16.0, 16.0, 18.0]],
                          [[1.2, 3.7], [2.2, 9.8], None], ["C2H6O", "C2H4O", "C3H8"])
    hits = lib.query([18.2, 58.1], [1.2, 3.6], k=3)
    assert [h.smiles for h in hits][0] == "CCO" and hits[0].score > 0.9 > hits[1].score
    assert [h.smiles for h in lib.query([18.0, 58.0], formula="C3H8")] == ["CCC"]  # the formula filter
    assert lib.query([18.0], formula="C9H20") == []
    assert np.isclose(lib.scores(h1=[2.2, 9.8])[1], 1.0) and lib.scores(h1=[2.2, 9.8])[2] == 0.0  # no 1H: 0
    with pytest.raises(ValueError, match="no shifts"):
        lib.scores()


def test_nmr_preset_trains_through_the_command(db, tmp_path):
    from tests.cli_runs import run_command

    res = run_command("spectra", "train", "--preset", "nmrshiftdb2", "--data", db, "--limit", "4",
                      "--max-steps", "2", "--batch-size", "4", "--out", tmp_path / "run")
    assert res.code == 0, res.stderr[-3000:]
    from morphogen.bundle.store import load

    model = load(tmp_path / "run" / "model.safetensors", domain="spectra")
    assert model.modalities == ("c13", "h1") and model.metadata.notes["prior_molecules"] == 4


def test_prior_molecules_get_predicted_spectra():
    """data.prior_spectra: predicted gives each QM9 prior molecule the shipped predictor's lists (one 13C shift per
    carbon, one 1H shift per hydrogen-bearing atom), and the dataset then carries them as spectral tokens."""
    from rdkit import Chem

    from morphogen.spectra.data.molecules import SpectraDataset
    from morphogen.spectra.data.nmr import molecule_from_rdkit
    from morphogen.spectra.shifts import load_shift_predictor, with_predicted_spectra

    prior = [molecule_from_rdkit(Chem.MolFromSmiles(s), f"qm9:{k}", s, "prior") for k, s in enumerate(["CCO", "CC(C)=O"])]
    done, n = with_predicted_spectra(prior, load_shift_predictor())
    assert n == 2 and prior[0].c13 is None  # copies; the originals keep no spectra
    assert len(done[0].c13) == 2 and len(done[0].h1) == 3 and done[0].extra["spectra"] == "predicted"
    assert len(done[1].c13) == 3 and len(done[1].h1) == 2
    carbonyl = max(done[1].c13)
    assert 195 < carbonyl < 215  # acetone's C=O near 206 ppm; its methyls near 30
    assert 20 < min(done[1].c13) < 40
    item = SpectraDataset(done, modalities=("c13", "h1"))[1]
    assert int(item["condition"]["c13_mask"].sum()) == 3 and int(item["condition"]["h1_mask"].sum()) == 2


def test_ir_prior_leaves_out_test_and_set_molecules(tmp_path, monkeypatch):
    """qm9-ir's QM9 prior (data.prior_molecules): the molecules the unrestricted draw would give first are left out
    when they are GDSS test molecules or molecules of the IR set, by connectivity layer, and the count still holds."""
    from types import SimpleNamespace

    from morphogen.spectra.data.nmr import connectivity_key, qm9_prior_molecules
    from morphogen.spectra.training import qm9_ir_prior

    monkeypatch.setenv("MORPHOGEN_CACHE", str(tmp_path / "cache"))
    free = qm9_prior_molecules(12, set(), seed=0)
    gdb = [int(m.id.split(":")[1]) for m in free]
    test, in_set = set(gdb[:4]), [SimpleNamespace(id=g) for g in gdb[4:8]]
    got = qm9_ir_prior(12, in_set, test, seed=0)
    assert len(got) == 12
    left_out = {connectivity_key(m.smiles) for m in free[:8]}
    assert not left_out & {connectivity_key(m.smiles) for m in got}
    assert [m.id for m in got[:4]] == [m.id for m in free[8:12]]  # the same draw, the excluded ones skipped
    assert qm9_ir_prior(0, in_set, test) == []
