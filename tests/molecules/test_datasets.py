"""SMILES CSV readers (ZINC250k, MOSES, any SMILES CSV): known files, errors naming file and line, real data."""
import pytest

from morphogen.molecules import (
    QM9_ATOMS, ZINC250K_ATOMS, MoleculeDataError, load_smiles_set, load_zinc250k, read_smiles_csv,
)


def test_zinc250k_reader_on_small_standard_file(tmp_path):
    p = tmp_path / "250k_rndm_zinc_drugs_clean_3.csv"
    # the standard file quotes SMILES with a trailing newline
    p.write_text('smiles,logP,qed,SAS\n"CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3F)c2c1\n",5.05,0.70,2.08\n'
                 '"C[NH+]1CCC(Cl)CC1\n",1.0,0.5,3.0\n')
    ms = load_zinc250k(p)
    assert len(ms.molecules) == 2 and ms.molecules.types.shape[1] == 38
    assert (ms.molecules.types[1] == ZINC250K_ATOMS.index("Cl")).sum() == 1 and ms.ids.tolist() == [0, 1]


def test_unparsable_smiles_names_file_and_line(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("smiles\nCCO\nC1CC(\nCC\n")
    with pytest.raises(MoleculeDataError, match=r"bad.csv:3: unparsable SMILES"):
        load_smiles_set(p, QM9_ATOMS, 9)


def test_overvalent_molecule_names_line_and_skip_reports(tmp_path):
    p = tmp_path / "val.csv"
    p.write_text("smiles\nCCO\nC(C)(C)(C)(C)C\nCC\n")
    with pytest.raises(MoleculeDataError, match=r"val.csv:3: over-valent atom"):
        load_smiles_set(p, QM9_ATOMS, 9)
    ms = load_smiles_set(p, QM9_ATOMS, 9, skip_invalid=True)
    assert len(ms.molecules) == 2 and len(ms.molecules.skipped) == 1 and "val.csv:3" in ms.molecules.skipped[0]
    assert ms.ids.tolist() == [0, 2]


def test_missing_column(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("name\nfoo\n")
    with pytest.raises(MoleculeDataError, match=r"x.csv:1: no column 'smiles'"):
        read_smiles_csv(p)


def test_real_zinc_file(shared_data):
    ms = load_smiles_set(shared_data / "graphs/molecules/zinc_800_jt.csv", ZINC250K_ATOMS, 38)
    assert len(ms.molecules) == 800 and not ms.molecules.skipped
