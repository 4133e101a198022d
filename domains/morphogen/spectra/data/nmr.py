"""Molecules with measured 13C and 1H shift lists (NMRShiftDB2) as training records, their held-out split, and a QM9
prior set that teaches the generator chemistry the 900 NMR molecules alone cannot.

* :func:`nmr_molecules`: every NMRShiftDB2 record of QM9's chemical space (at most 9 heavy atoms, all of them C, N,
  O or F) with an experimental 13C *and* 1H spectrum. NMRShiftDB2 gives no 3-D geometry: each molecule gets one
  from RDKit (ETKDGv3 with a fixed seed, then MMFF94; :func:`morphogen.spectra.data.sources.embed_molecule`), its
  bonds in Kekulé form in the same atom order, hydrogens included.
* :func:`split_by_structure`: test / validation / training by the InChIKey connectivity layer (the first 14
  characters), seeded, so two records of one structure (stereoisomers, repeated measurements) never fall on both
  sides.
* :func:`qm9_prior_molecules`: QM9 molecules (B3LYP geometries from qm9pack) without spectra, none of whose
  connectivity layers is a held-out NMR structure. Mixed into training with their spectral tokens absent, they
  are the unconditional part of the model (as classifier-free guidance's dropped condition is).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from morphogen.spectra.data.molecules import ELEMENTS, SpectrumMolecule
from morphogen.spectra.errors import SpectraDataError


def connectivity_key(smiles: str, where: str = "") -> str:
    """The InChIKey's first block (the connectivity layer) of a SMILES: the identity top-k accuracy counts."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise SpectraDataError(where or smiles, f"RDKit cannot parse the SMILES {smiles!r}")
    return Chem.MolToInchiKey(mol).split("-")[0]


def molecule_from_rdkit(mol, ident, smiles: str, where: str, c13=None, h1=None) -> SpectrumMolecule:
    """A :class:`SpectrumMolecule` of an RDKit molecule: hydrogens added, one embedded geometry, Kekulé bonds."""
    from rdkit import Chem

    from morphogen.spectra.data.sources import embed_molecule

    molh = embed_molecule(mol, where)
    Chem.Kekulize(molh, clearAromaticFlags=True)
    elements = tuple(a.GetSymbol() for a in molh.GetAtoms())
    bad = sorted({e for e in elements if e not in ELEMENTS})
    if bad:
        raise SpectraDataError(where, f"element(s) {bad} outside {ELEMENTS}")
    bonds, orders = [], []
    for b in molh.GetBonds():
        i, j = sorted((b.GetBeginAtomIdx(), b.GetEndAtomIdx()))
        order = b.GetBondTypeAsDouble()
        if order not in (1.0, 2.0, 3.0):
            raise SpectraDataError(where, f"bond {i}-{j} of order {order} (only single, double, triple are modelled)")
        bonds.append((i, j))
        orders.append(int(order))
    pos = np.asarray(molh.GetConformer().GetPositions(), dtype=np.float64)
    return SpectrumMolecule(ident, smiles, elements, pos - pos.mean(0), np.asarray(bonds, dtype=np.int64).reshape(-1, 2),
                            np.asarray(orders, dtype=np.int64), c13=c13, h1=h1, where=where)


CACHE_FORMAT = 1  # bump when the cached content changes meaning


def _to_json(m: SpectrumMolecule) -> dict:
    return {"id": m.id, "smiles": m.smiles, "elements": list(m.elements), "pos": np.round(m.pos, 5).tolist(),
            "bonds": m.bonds.tolist(), "orders": m.orders.tolist(), "c13": m.c13, "h1": m.h1, "where": m.where}


def _from_json(d: dict) -> SpectrumMolecule:
    return SpectrumMolecule(d["id"], d["smiles"], tuple(d["elements"]), np.asarray(d["pos"], dtype=np.float64),
                            np.asarray(d["bonds"], dtype=np.int64).reshape(-1, 2), np.asarray(d["orders"], dtype=np.int64),
                            c13=d["c13"], h1=d["h1"], where=d["where"])


def cached_molecules(name: str, key: dict, build) -> list[SpectrumMolecule]:
    """``build()`` kept in ``$MORPHOGEN_CACHE/spectra/<name>-<hash of key>.json.gz`` (plain JSON, never a pickle);
    built afresh when caching is off, the entry is missing or it does not read."""
    import gzip
    import hashlib
    import json

    from morphogen.utils.cache import cache_dir

    root = cache_dir()
    if root is None:
        return build()
    text = json.dumps({"format": CACHE_FORMAT, **key}, sort_keys=True, default=str)
    path = root / "spectra" / f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.json.gz"
    if path.is_file():
        try:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                return [_from_json(d) for d in json.load(fh)]
        except (OSError, EOFError, ValueError, KeyError, TypeError):
            pass  # a damaged entry: build again and overwrite it
    out = build()
    try:
        from morphogen.utils.outputs import atomic_bytes

        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_bytes(path, gzip.compress(json.dumps([_to_json(m) for m in out]).encode("utf-8")))
    except Exception:  # noqa: BLE001 - a read-only or full cache folder only costs the build next time
        pass
    return out


def nmr_molecules(path: str | Path, limit: int | None = None, max_heavy_atoms: int | None = 9,
                  elements: Sequence[str] = ("C", "N", "O", "F"), max_atoms: int | None = None
                  ) -> list[SpectrumMolecule]:
    """The NMRShiftDB2 molecules of at most ``max_heavy_atoms`` heavy atoms (None: any number) and at most
    ``max_atoms`` atoms with hydrogens (None: any), all heavy atoms of ``elements``, with experimental 13C and 1H
    spectra (file order; ids are NMRShiftDB2 IDs), each with an embedded geometry (see the module docstring).
    A record RDKit cannot embed raises :class:`SpectraDataError` naming its line. Cached (:func:`cached_molecules`):
    reading the 51,245-record export and embedding takes about a minute."""
    from morphogen.spectra.data.sources import EMBED_SEED
    from morphogen.utils.cache import file_fingerprint

    if not Path(path).is_file():
        raise SpectraDataError(str(path), "no such file (the NMRShiftDB2 JSON-lines export)")
    key = {"file": file_fingerprint(path), "limit": limit, "max_heavy": max_heavy_atoms, "elements": list(elements),
           "max_atoms": max_atoms, "seed": EMBED_SEED}
    return cached_molecules("nmrshiftdb2", key,
                            lambda: _nmr_molecules(path, limit, max_heavy_atoms, elements, max_atoms))


def _nmr_molecules(path, limit, max_heavy_atoms, elements, max_atoms) -> list[SpectrumMolecule]:
    from rdkit import Chem, RDLogger

    from morphogen.spectra.data.nmrshiftdb2 import read_nmrshiftdb2

    RDLogger.DisableLog("rdApp.*")
    recs = read_nmrshiftdb2(path, elements=elements, max_heavy_atoms=max_heavy_atoms, require=("13C", "1H"),
                            limit=None if max_atoms is not None else limit)
    out = []
    for r in recs:
        mol = Chem.MolFromSmiles(r.smiles)
        if max_atoms is not None and Chem.AddHs(mol).GetNumAtoms() > max_atoms:
            continue
        if limit is not None and len(out) >= limit:
            break
        ident = r.nmrshiftdb_id if r.nmrshiftdb_id is not None else r.where
        out.append(molecule_from_rdkit(mol, ident, r.smiles, r.where, c13=list(r.c13), h1=list(r.h1)))
    if not out:
        raise SpectraDataError(str(path), f"no record of at most {max_heavy_atoms} heavy atoms and {max_atoms} atoms "
                                          f"of {list(elements)} with experimental 13C and 1H spectra")
    return out


def heavy_atoms(m: SpectrumMolecule) -> int:
    """Atoms other than hydrogen."""
    return sum(e != "H" for e in m.elements)


def split_by_structure(molecules: Sequence[SpectrumMolecule], test: float = 0.1, val: float = 0.05,
                       seed: int = 0) -> dict[str, list[SpectrumMolecule]]:
    """``{"train", "val", "test"}``: the molecules' connectivity layers shuffled with ``seed`` and cut into
    fractions ``test`` and ``val`` of the structures (at least one each); every record of a structure on one side."""
    keys = [connectivity_key(m.smiles, m.where) for m in molecules]
    groups = sorted(set(keys))
    order = np.random.default_rng(seed).permutation(len(groups))
    n_test, n_val = max(1, round(test * len(groups))), max(1, round(val * len(groups)))
    if n_test + n_val >= len(groups):
        raise SpectraDataError("split", f"{len(groups)} structures cannot give {n_test} test and {n_val} validation "
                                        "structures and a training set")
    side = {}
    for rank, g in enumerate(order):
        side[groups[g]] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    out: dict[str, list[SpectrumMolecule]] = {"train": [], "val": [], "test": []}
    for m, k in zip(molecules, keys):
        m.extra["key"] = k
        out[side[k]].append(m)
    return out


def qm9_prior_molecules(count: int, exclude_keys: Iterable[str], seed: int = 0) -> list[SpectrumMolecule]:
    """``count`` QM9 molecules drawn with ``seed`` (gdb order after drawing), none with a connectivity layer in
    ``exclude_keys``; their SMILES bonds mapped onto the B3LYP geometry (hydrogens included). Ids: ``"qm9:<gdb>"``.
    Cached (:func:`cached_molecules`)."""
    import hashlib

    if count <= 0:
        return []
    exclude = sorted(set(exclude_keys))
    key = {"count": int(count), "seed": int(seed), "exclude": hashlib.sha256(" ".join(exclude).encode()).hexdigest()}
    return cached_molecules("qm9-prior", key, lambda: _qm9_prior(int(count), set(exclude), int(seed)))


def _qm9_prior(count: int, exclude: set, seed: int) -> list[SpectrumMolecule]:
    from morphogen.molecules.errors import MoleculeDataError
    from morphogen.molecules.geometry import match_geometry
    from morphogen.molecules.qm9 import read_qm9

    rows = read_qm9()
    order = [int(k) for k in np.random.default_rng(seed).permutation(len(rows))]
    out: list[SpectrumMolecule] = []
    skipped = 0
    start = 0
    while len(out) < count and start < len(order):
        want = count - len(out)
        picked = []
        while len(picked) < want + want // 20 + 8 and start < len(order):  # a few spare for mismatched geometries
            r = rows[order[start]]
            start += 1
            if connectivity_key(r.smiles, r.where) not in exclude:
                picked.append(r.index + 1)
        rank = {g: k for k, g in enumerate(picked)}
        for q in sorted(read_qm9(geometries=True, gdb=set(picked)), key=lambda q: rank[q.index + 1]):
            if len(out) >= count:
                break
            try:
                g = match_geometry(q.smiles, q.geometry.elements, q.geometry.positions,
                                   name=f"{q.where} (gdb {q.index + 1})")
            except MoleculeDataError:
                skipped += 1  # QM9's relaxed geometry lost the SMILES graph (a known QM9 inconsistency)
                continue
            pos = np.asarray(g.positions, dtype=np.float64)
            out.append(SpectrumMolecule(f"qm9:{q.index + 1}", q.smiles, tuple(g.elements), pos - pos.mean(0),
                                        np.asarray(g.bonds), np.asarray(g.orders), where=q.where))
    if skipped:
        print(f"QM9 prior: skipped {skipped} molecules whose B3LYP geometry does not hold their SMILES graph")
    return out
