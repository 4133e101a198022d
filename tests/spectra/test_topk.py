"""Top-k accuracy, validity and Tanimoto on hand-made cases."""
from __future__ import annotations

import pytest

pytest.importorskip("rdkit")

from morphogen.spectra.metrics import TopK, connectivity_key, tanimoto, topk, topk_hit  # noqa: E402


def test_connectivity_layer_ignores_stereo_and_writing():
    assert connectivity_key("OCC") == connectivity_key("C(O)C")
    assert connectivity_key("C/C=C/C") == connectivity_key("C/C=C\\C")  # E and Z: one constitution
    assert connectivity_key("CCO") != connectivity_key("COC")
    assert connectivity_key("C1CC") is None


def test_topk_hand_cases():
    ranked = ["COC", "CCO", "CC=O"]
    assert not topk_hit(ranked, "OCC", 1) and topk_hit(ranked, "OCC", 2) and topk_hit(ranked, "OCC", 10)
    res = topk([(["CCO", "COC"], ["CCO", None, "COC", "CCO"], "CCO"),      # hit at rank 1
                (["COC"], ["COC", "COC", None, None], "CCO"),                # never
                (["CC", "CCN"], [None, "CC", "CCN", "CCN"], "NCC")],        # rank 2; sample 3
               ks=(1, 3, 10))
    assert res.n == 3
    assert res.ranked == {1: pytest.approx(1 / 3), 3: pytest.approx(2 / 3), 10: pytest.approx(2 / 3)}
    assert res.any_of_samples == {1: pytest.approx(1 / 3), 3: pytest.approx(2 / 3), 10: pytest.approx(2 / 3)}
    assert res.validity == pytest.approx((3 / 4 + 2 / 4 + 3 / 4) / 3)
    assert res.top1_tanimoto == pytest.approx((1.0 + tanimoto("COC", "CCO") + tanimoto("CC", "NCC")) / 3)
    acc = TopK((1,))
    acc.update([], [None, None], "CCO")
    assert acc.compute().ranked[1] == 0.0 and acc.compute().top1_tanimoto == 0.0
    acc.reset()
    assert acc.compute().n == 0
    with pytest.raises(ValueError, match="does not parse"):
        topk_hit(["CCO"], "C1CC", 1)
