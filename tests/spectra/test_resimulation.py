"""Ranking IR candidates by re-simulated spectra: the distance, which candidates are simulated (``max_scored``),
and the GFN2-xTB round trip: a molecule's own spectrum is its nearest."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rdkit")

from morphogen.spectra.elucidation import rank  # noqa: E402
from morphogen.spectra.resimulation import IRResimulation, cosine_distance  # noqa: E402


def test_cosine_distance_known_cases():
    a = np.array([0.0, 1.0, 0.0, 2.0])
    assert cosine_distance(a, 3.0 * a) == pytest.approx(0.0, abs=1e-12)  # scale does not matter
    assert cosine_distance(a, np.array([1.0, 0.0, 1.0, 0.0])) == pytest.approx(1.0)  # no common band
    assert cosine_distance(np.array([1.0, 1.0]), np.array([1.0, 0.0])) == pytest.approx(1 - 1 / np.sqrt(2))
    assert cosine_distance(np.zeros(4), a) == 1.0
    with pytest.raises(ValueError, match="different grids"):
        cosine_distance(a, np.ones(3))


def test_rank_scores_only_the_first_max_scored_candidates():
    from rdkit import Chem

    mols = {s: Chem.AddHs(Chem.MolFromSmiles(s)) for s in ("CCO", "COC", "CC=O", "C[CH2]")}
    samples = [mols["CCO"]] * 3 + [mols["COC"]] * 2 + [mols["CC=O"]] + [mols["C[CH2]"]] * 4
    asked = []
    errs = {"CCO": 0.5, "COC": 0.1, "CC=O": 0.0, "[CH2]C": 0.0}

    def errors(smis):
        asked.extend(smis)
        return [errs[s] for s in smis]

    ranked = rank(samples, k=10, errors=errors, max_scored=2)
    # plausible first, the two most agreed-upon plausible ones scored; the radical (4 samples) is not plausible
    assert asked == ["CCO", "COC"]
    assert [c.smiles for c in ranked] == ["COC", "CCO", "CC=O", "[CH2]C"]
    assert ranked[2].shift_error is None and ranked[0].shift_error == pytest.approx(0.1)


def test_bad_settings():
    with pytest.raises(ValueError, match="workers"):
        IRResimulation(workers=0)
    with pytest.raises(ValueError, match="max_candidates"):
        IRResimulation(max_candidates=0)


def test_a_molecules_own_spectrum_is_its_nearest():
    pytest.importorskip("tblite")
    resim = IRResimulation()
    resim.simulate(["CO", "C=O", "C#N"])
    assert not resim.failures
    for s in ("CO", "C=O", "C#N"):
        d = resim.distances(["CO", "C=O", "C#N"], resim.spectra[s])
        assert d[["CO", "C=O", "C#N"].index(s)] == pytest.approx(0.0, abs=1e-9)
        assert sorted(d)[1] > 0.2, (s, d)  # other molecules are far
    # the re-embedded and re-relaxed molecule reproduces its spectrum (a second, independent simulation)
    again = IRResimulation()
    assert again.distances(["C=O"], resim.spectra["C=O"])[0] < 0.01
    bad = IRResimulation(max_candidates=1)
    assert bad.distances(["[C]"], resim.spectra["CO"]) == [float("inf")] and "[C]" in bad.failures


def test_cli_refuses_an_unknown_ranking(tmp_path):
    from typer.testing import CliRunner

    from morphogen.spectra.cli import app

    spectra = tmp_path / "s.jsonl"
    spectra.write_text("{}\n")
    res = CliRunner().invoke(app, ["elucidate", "--checkpoint", "qm9-ir", "--spectra", str(spectra), "--out",
                                   str(tmp_path / "o"), "--ir-ranking", "best"])
    assert res.exit_code == 2 and "--ir-ranking" in res.output and "agreement, xtb" in res.output


def test_xtb_ranking_needs_a_model_that_reads_ir(tmp_path):
    from types import SimpleNamespace

    from morphogen.spectra.elucidation import run_elucidation

    nmr_only = SimpleNamespace(modalities=("c13", "h1"))
    with pytest.raises(ValueError, match="ranks IR records, but this model reads c13, h1"):
        run_elucidation(nmr_only, tmp_path / "none.jsonl", tmp_path / "out", 1, ir_ranking="xtb")
    with pytest.raises(ValueError, match="ir_ranking must be one of"):
        run_elucidation(nmr_only, tmp_path / "none.jsonl", tmp_path / "out", 1, ir_ranking="best")
