"""Readers, canonical form, compositions, splits, padded batches (small files written here, and the real pools)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from morphogen.crystals.data import (
    CifParseError, CrystalDataset, LatticeCodec, collate_crystals, read_cdvae_csv, read_compositions,
    record_to_structure, split_indices,
)
from morphogen.crystals.data.cdvae import iter_csv_rows
from morphogen.crystals.metrics import match_rms

from .crystal_helpers import perovskite, rocksalt, write_cdvae_csv


def test_reader_canonical_form_and_properties(tmp_path):
    p = write_cdvae_csv(tmp_path / "x.csv", [perovskite(), rocksalt()])
    recs = read_cdvae_csv(p)
    assert [r.material_id for r in recs] == ["m-0", "m-1"] and [r.row for r in recs] == [0, 1]
    assert recs[1].properties == {"heat_ref": 0.5}
    assert recs[0].num_atoms == 5 and recs[1].num_atoms == 8  # conventional rock salt kept (primitive=False)
    for r in recs:
        assert r.frac_coords.min() >= 0 and r.frac_coords.max() < 1
    np.testing.assert_allclose(recs[0].lattice, [3.9, 3.9, 3.9, 90, 90, 90], atol=1e-8)
    # primitive=True (as an option) gives the 2-atom fcc cell with 60 degree angles
    prim = read_cdvae_csv(p, primitive=True)[1]
    assert prim.num_atoms == 2
    np.testing.assert_allclose(sorted(prim.lattice[3:]), [60, 60, 60], atol=1e-6)
    # the record is the same crystal as the input
    assert match_rms(record_to_structure(recs[1]), rocksalt()) == pytest.approx(0.0, abs=1e-6)


def test_broken_cif_names_file_row_line_and_id(tmp_path):
    p = write_cdvae_csv(tmp_path / "bad.csv", [perovskite(), rocksalt()], broken_at=1)
    with pytest.raises(CifParseError) as err:
        read_cdvae_csv(p)
    e = err.value
    assert e.row == 1 and e.material_id == "m-1" and str(p) in str(e)
    first_cif_lines = perovskite().to(fmt="cif").count("\n")
    assert e.line > first_cif_lines  # the record starts after the first multi-line record
    assert "CIF" in e.reason


def test_missing_cif_column(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("material_id,formula\nm1,NaCl\n")
    with pytest.raises(ValueError, match="no 'cif' column"):
        read_cdvae_csv(p)


def test_compositions_from_formula_and_from_cif(tmp_path):
    p = tmp_path / "f.csv"
    p.write_text("formula,material_id\nSrTiO3,a\nCa4S4,b\n")
    comps = read_compositions(p)
    assert comps[0].atomic_numbers.tolist() == [8, 8, 8, 22, 38] and comps[1].num_atoms == 8
    assert comps[1].material_id == "b" and comps[1].row == 1
    q = write_cdvae_csv(tmp_path / "c.csv", [perovskite(x2="F")])
    c = read_compositions(q)[0]
    assert c.atomic_numbers.tolist() == [8, 8, 9, 22, 38] and c.material_id == "m-0"
    bad = tmp_path / "bad.csv"
    bad.write_text("formula\nSrTiO3\nSr0.5TiO3\n")
    with pytest.raises(CifParseError, match="record 1 .*non-integer"):
        read_compositions(bad)


def test_split_is_deterministic_disjoint_and_complete():
    a, b = split_indices(101, seed=3), split_indices(101, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip((a.train, a.val, a.test), (b.train, b.val, b.test)))
    allidx = np.concatenate([a.train, a.val, a.test])
    assert sorted(allidx.tolist()) == list(range(101)) and (len(a.val), len(a.test)) == (10, 10)
    assert not np.array_equal(split_indices(101, seed=4).test, a.test)


def test_lattice_codec_round_trip_float64():
    rng = np.random.default_rng(0)
    params = np.concatenate([rng.uniform(2, 12, (50, 3)), rng.uniform(60, 120, (50, 3))], 1)
    n = rng.integers(1, 30, 50)
    codec = LatticeCodec.fit(params, n)
    z = codec.encode(params, n)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(codec.decode(z, n), params, rtol=1e-12)


def test_padded_batch(tmp_path):
    recs = read_cdvae_csv(write_cdvae_csv(tmp_path / "x.csv", [perovskite(), rocksalt()]))
    codec = LatticeCodec.fit(np.stack([r.lattice for r in recs]), [r.num_atoms for r in recs])
    for task in ("csp", "gen"):
        batch = collate_crystals([CrystalDataset(recs, codec, task)[i] for i in range(2)])
        f, m, c = batch["fields"], batch["masks"], batch["condition"]
        assert f["frac_coords"].shape == (2, 8, 3) and f["lattice"].shape == (2, 6)
        assert m["frac_coords"][0, :, 0].tolist() == [True] * 5 + [False] * 3
        assert c["num_atoms"].tolist() == [5, 8]
        types = f["atom_types"] if task == "gen" else c["atom_types"]
        assert types[0, :5].sort().values.tolist() == [7, 7, 7, 21, 37]  # Z - 1
        assert torch.all(f["frac_coords"][0, 5:] == 0)


def test_real_pools(shared_data):
    for name, count, sizes in (("perov_5", 3787, {5}), ("carbon_24", 2032, set(range(6, 25)))):
        path = shared_data / "crystals" / name / "pool.csv"
        assert sum(1 for _ in iter_csv_rows(path)) == count
        recs = read_cdvae_csv(path, limit=150)
        assert len(recs) == 150 and {r.num_atoms for r in recs} <= sizes
        assert all(0 <= r.frac_coords.min() and r.frac_coords.max() < 1 for r in recs)
        if name == "carbon_24":
            assert {int(z) for r in recs for z in r.atomic_numbers} == {6}


def test_load_splits_caches_parsed_csv_and_notices_edits(tmp_path, monkeypatch):
    import os

    from morphogen.crystals.experiment import load_preset, load_splits

    monkeypatch.setenv("MORPHOGEN_CACHE", str(tmp_path / "cache"))
    pool = write_cdvae_csv(tmp_path / "pool.csv", [perovskite(a=3.8 + 0.02 * i) for i in range(10)])
    preset = load_preset("perov_5")
    first = load_splits(preset, pool)
    entries = list((tmp_path / "cache" / "crystals").glob("pool-*.json.gz"))
    assert len(entries) == 1
    again = load_splits(preset, pool)  # from the cache: the same records, field by field
    for a, b in zip(first.train + first.val + first.test, again.train + again.val + again.test):
        assert a.material_id == b.material_id and a.row == b.row and a.properties == b.properties
        np.testing.assert_array_equal(a.lattice, b.lattice)
        np.testing.assert_array_equal(a.frac_coords, b.frac_coords)
        np.testing.assert_array_equal(a.atomic_numbers, b.atomic_numbers)
    # an edited file is parsed again (and a bad row still names itself)
    write_cdvae_csv(pool, [perovskite(), rocksalt()], broken_at=1)
    os.utime(pool, ns=(1, 1))
    with pytest.raises(CifParseError, match="pool.csv"):
        load_splits(preset, pool)
    # caching off: nothing written
    monkeypatch.setenv("MORPHOGEN_CACHE", "off")
    write_cdvae_csv(tmp_path / "other.csv", [perovskite()] * 10)
    load_splits(preset, tmp_path / "other.csv")
    assert not list((tmp_path / "cache" / "crystals").glob("other-*"))
