"""Structure elucidation: sample K candidate molecules for each record's spectra, assemble them, rank them.

For a record (its spectra, and its formula or at least its atom count with hydrogens, as DiffSpectra is given):

- the atom count N fixes the padding masks; with ``formula_known`` the elements are fixed too (imposed clean at
  every step through the core's ``Inpaint``; the model is permutation-equivariant, so their order is arbitrary:
  heavy atoms in :data:`ELEMENTS` order, then hydrogens), else they are sampled;
- K independent samples of (atoms, bonds, coordinates) are drawn in batches by the model's sampler;
- each sample is assembled into an RDKit molecule (:func:`assemble`; None when it does not sanitise: invalid);
- the samples are grouped by structure (canonical SMILES of the molecule with its hydrogens removed); ``score`` is
  the share of the K samples that gave a structure;
- candidates are ranked: *plausible* ones first (one fragment, no radical electrons, no net charge: what a measured
  stable compound is), then, for NMR records with a shift predictor (:mod:`morphogen.spectra.shifts`, the shipped
  ``shifts`` by default), by ``shift_error``, how far the candidate's predicted 13C and 1H lists lie from the
  measured ones (:func:`shift_error`), else by score; ties by score, then first appearance.

On the validation split of the ``nmrshiftdb2`` preset (46 molecules, 50 samples each, formula known) the shipped
``nmr`` model put the true structure among its candidates for 8 molecules; ranked by score, 1 of them came first,
ranked by shift error 7 (benchmarks/results/spectra_nmr.md). With bonds held to valences (``valence="complete"``,
:mod:`morphogen.spectra.valence`) validity rose from 0.49 to 0.88 on the test split, and the true structure is among
the 50 samples of 23 of its 94 molecules (16 before); 22 of them rank first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import torch

from morphogen.spectra.data.molecules import ELEMENTS

BOND_TYPES = {1: "SINGLE", 2: "DOUBLE", 3: "TRIPLE"}
#: how sampled bonds are held to valences (see :func:`elucidate`)
VALENCE_MODES = ("complete", "mask", "none")


@dataclass
class Candidate:
    """A ranked structure: canonical SMILES, rank (1 = best), count of the K samples that gave it, score = count / K,
    the RDKit molecule (with hydrogens and the 3-D coordinates of its first sample), whether it is plausible (one
    fragment, closed shell, neutral) and its shift error (ppm, :func:`shift_error`; None when not computed)."""

    smiles: str
    rank: int
    count: int
    score: float
    mol: object = field(repr=False, default=None)
    plausible: bool = True
    shift_error: float | None = None


@dataclass
class Elucidation:
    """One record's result: ranked valid candidates, the number of samples drawn and of valid ones, NFE per sample."""

    id: object
    candidates: list[Candidate]
    samples: int
    valid: int
    nfe: int
    sample_smiles: list = field(default_factory=list)

    @property
    def validity(self) -> float:
        return self.valid / self.samples if self.samples else 0.0


def assemble(atoms: np.ndarray, bonds: np.ndarray, pos: np.ndarray, n: int, elements: Sequence[str] = ELEMENTS):
    """An RDKit molecule from one sample's first ``n`` atoms: element classes (N,), bond classes over the pairs
    i < j of the padded size (P,), coordinates (N, 3); None when it does not sanitise (valences, charges)."""
    from rdkit import Chem

    from morphogen.spectra.models.egnn import num_atoms_of_pairs, pair_index

    size = num_atoms_of_pairs(len(bonds))
    rw = Chem.RWMol()
    for k in atoms[:n]:
        a = Chem.Atom(elements[int(k)])
        a.SetNoImplicit(True)
        rw.AddAtom(a)
    ii, jj = (t.numpy() for t in pair_index(size))
    for i, j, b in zip(ii, jj, bonds):
        if i < n and j < n and int(b) in BOND_TYPES:
            rw.AddBond(int(i), int(j), getattr(Chem.BondType, BOND_TYPES[int(b)]))
    _formal_charges(rw)
    mol = rw.GetMol()
    try:
        Chem.SanitizeMol(mol)
    except Exception:  # noqa: BLE001 - RDKit raises several types for impossible valences
        return None
    conf = Chem.Conformer(n)
    for i in range(n):
        conf.SetAtomPosition(i, [float(v) for v in pos[i]])
    mol.AddConformer(conf, assignId=True)
    return mol


def _formal_charges(rw) -> None:
    """Charges the model does not generate, read off the valences (the training molecules lose theirs in the Kekulé
    bond orders): a nitrogen with four bonds' worth of valence is N+, and for each N+ one singly bonded oxygen
    neighbour without another partner becomes O- (nitro groups, N-oxides). Anything else is left to sanitisation."""
    for atom in rw.GetAtoms():
        if atom.GetSymbol() != "N":
            continue
        if sum(b.GetBondTypeAsDouble() for b in atom.GetBonds()) != 4:
            continue
        atom.SetFormalCharge(1)
        for nb in atom.GetNeighbors():
            bond = rw.GetBondBetweenAtoms(atom.GetIdx(), nb.GetIdx())
            if nb.GetSymbol() == "O" and nb.GetDegree() == 1 and bond.GetBondTypeAsDouble() == 1 \
                    and nb.GetFormalCharge() == 0:
                nb.SetFormalCharge(-1)
                break


def canonical(mol) -> str | None:
    from rdkit import Chem

    try:
        return Chem.MolToSmiles(Chem.RemoveHs(mol))
    except Exception:  # noqa: BLE001
        return None


def formula_atoms(counts: Sequence[int], elements: Sequence[str] = ELEMENTS) -> list[int]:
    """Element classes for a formula's counts: heavy atoms in ``elements`` order, then hydrogens."""
    order = [k for k, e in enumerate(elements) if e != "H"] + [k for k, e in enumerate(elements) if e == "H"]
    return [k for k in order for _ in range(int(counts[k]))]


def plausible(mol) -> bool:
    """One fragment, no radical electrons, no net charge (formal charges that cancel, as in a nitro group, allowed)."""
    from rdkit import Chem

    return (len(Chem.GetMolFrags(mol)) == 1 and not any(a.GetNumRadicalElectrons() for a in mol.GetAtoms())
            and Chem.GetFormalCharge(mol) == 0)


#: 1H errors weigh this many times 13C ones in :func:`shift_error` (about the ratio of the nuclei's shift ranges)
H_WEIGHT = 10.0
#: ppm added per 13C entry by which the predicted and measured lists differ in length
MISSING_C13 = 20.0


def shift_error(predicted: tuple[Sequence[float], Sequence[float]] | None, c13: Sequence[float] | None,
                h1: Sequence[float] | None) -> float:
    """How far a candidate's predicted (13C, 1H) lists lie from the measured ones, in 13C ppm: the 13C mean absolute
    difference in sorted order (plus :data:`MISSING_C13` per missing or extra carbon) plus :data:`H_WEIGHT` times the
    1H one, compared as distributions (NMRShiftDB2 writes a proton list per hydrogen, per group or per atom, so its
    length is not compared). inf for a candidate the predictor cannot read."""
    from morphogen.spectra.shifts import spectrum_distance

    if predicted is None:
        return float("inf")
    err = 0.0
    if c13:
        err += spectrum_distance(predicted[0], c13, MISSING_C13)
    if h1 and predicted[1]:
        err += H_WEIGHT * spectrum_distance(predicted[1], h1, 0.0)
    return err


def rank(samples: Sequence, k: int, errors=None, max_scored: int | None = None) -> list[Candidate]:
    """Ranked candidates of one record's assembled samples (molecules or None); ``errors``: an optional function
    from a list of canonical SMILES to their errors (shift errors, re-simulated spectrum distances; see the module
    docstring). ``max_scored``: only the first this many candidates by (plausible, score) are given to ``errors``
    (a costly one); the others rank after them, by score."""
    groups: dict[str, list] = {}
    for mol in samples:
        if mol is None:
            continue
        smi = canonical(mol)
        if smi is not None:
            groups.setdefault(smi, []).append(mol)
    items = list(groups.items())
    ok = [plausible(ms[0]) for _, ms in items]
    err = [None] * len(items)
    if errors is not None and items:
        scored = sorted(range(len(items)), key=lambda i: (not ok[i], -len(items[i][1]), i))
        scored = scored[:max_scored] if max_scored is not None else scored
        for i, e in zip(scored, errors([items[i][0] for i in scored])):
            err[i] = e
    unscored = float("inf") if errors is not None else 0.0
    order = sorted(range(len(items)), key=lambda i: (not ok[i], err[i] if err[i] is not None else unscored,
                                                     -len(items[i][1]), i))
    return [Candidate(items[i][0], r + 1, len(items[i][1]), len(items[i][1]) / k, items[i][1][0], ok[i],
                      None if err[i] is None else float(err[i])) for r, i in enumerate(order)]


def _measured(condition: Mapping, name: str) -> list[float] | None:
    if name not in condition:
        return None
    v, m = torch.as_tensor(condition[name]), torch.as_tensor(condition[f"{name}_mask"]).bool()
    return [float(x) for x in v[m]] or None


def elucidate(model, records: Sequence[Mapping], num_samples: int, formula_known: bool = False,
              steps: int | None = None, sampler: str | None = None, batch_size: int = 256,
              generator: torch.Generator | None = None, shift_predictor=None,
              valence: str = "complete", ir_ranking=None) -> list[Elucidation]:
    """Candidates for each record: a mapping with ``"condition"`` (the model's spectra tensors, one record:
    ``ir`` (L,), ...), ``"formula"`` (len(elements),) counts with hydrogens, ``"num_atoms"`` and ``"id"``.
    ``shift_predictor`` (a :class:`~morphogen.spectra.shifts.ShiftPredictor`): rank NMR records' candidates by
    shift error. ``valence`` (one of :data:`VALENCE_MODES`): "mask" draws bonds under the valence mask of
    :mod:`morphogen.spectra.valence`, "complete" also closes each sample's unfilled valences
    (:func:`~morphogen.spectra.valence.complete_valences`), "none" takes the samples as drawn. ``ir_ranking`` (a
    :class:`~morphogen.spectra.resimulation.IRResimulation`): rank IR records' candidates by the distance of their
    re-simulated spectra to the record's (at most its ``max_candidates`` per record)."""
    from morphogen.guidance.inpaint import Inpaint
    from morphogen.spectra.valence import ValenceMaskedDenoiser, complete_valences

    if valence not in VALENCE_MODES:
        raise ValueError(f"valence must be one of {VALENCE_MODES}, got {valence!r}")

    smp = model.make_sampler(sampler, steps)
    model.denoiser.eval()
    denoiser = (ValenceMaskedDenoiser(model.denoiser, model.elements, model.process["bonds"].mask_id).to(model.device)
                if valence != "none" else model.denoiser)

    # jobs sorted by atom count, so each batch is padded only to its largest molecule (pair features cost ~N^2)
    jobs = sorted(((r, s) for r in range(len(records)) for s in range(int(num_samples))),
                  key=lambda job: int(records[job[0]]["num_atoms"]))
    mols: list[list] = [[] for _ in records]
    nfe = 0
    for start in range(0, len(jobs), batch_size):
        chunk = jobs[start:start + batch_size]
        b = len(chunk)
        n_max = max(int(records[r]["num_atoms"]) for r, _ in chunk)
        p_max = n_max * (n_max - 1) // 2
        i, j = torch.triu_indices(n_max, n_max, 1)
        node = torch.zeros(b, n_max, dtype=torch.bool)
        atoms = torch.zeros(b, n_max, dtype=torch.long)
        conds: dict[str, list] = {}
        for row, (r, _) in enumerate(chunk):
            rec = records[r]
            n = int(rec["num_atoms"])
            node[row, :n] = True
            if formula_known:
                atoms[row, :n] = torch.as_tensor(formula_atoms(rec["formula"], model.elements))
            for key, v in rec["condition"].items():
                conds.setdefault(key, []).append(torch.as_tensor(v))
        condition = {k: torch.stack(v) for k, v in conds.items()}
        masks = {"atoms": node, "bonds": node[:, i] & node[:, j], "pos": node[:, :, None]}
        fixed = Inpaint({"atoms": atoms}, {"atoms": node}, mode="clean") if formula_known else None
        res = smp.sample(model.process, denoiser, {"atoms": (b, n_max), "bonds": (b, p_max), "pos": (b, n_max, 3)},
                         generator=generator, masks=masks, condition=condition, fixed=fixed, device=model.device)
        nfe = res.nfe
        f = {k: v.cpu().numpy() for k, v in res.fields.items()}
        for row, (r, _) in enumerate(chunk):
            n = int(records[r]["num_atoms"])
            bonds = f["bonds"][row]
            if valence == "complete":
                bonds = complete_valences(f["atoms"][row], bonds, f["pos"][row], n, model.elements)
            mols[r].append(assemble(f["atoms"][row], bonds, f["pos"][row], n, model.elements))
    out = []
    for r, rec in enumerate(records):
        ms = mols[r]
        smiles = [canonical(m) if m is not None else None for m in ms]
        c13, h1 = _measured(rec["condition"], "c13"), _measured(rec["condition"], "h1")
        errors, max_scored = None, None
        if shift_predictor is not None and (c13 or h1):
            def errors(smis, c13=c13, h1=h1):
                return [shift_error(p, c13, h1) for p in shift_predictor.predict(smis)]
        elif ir_ranking is not None and "ir" in rec["condition"] and bool(rec["condition"].get("ir_present", True)):
            query = torch.as_tensor(rec["condition"]["ir"]).numpy()

            def errors(smis, query=query):
                return ir_ranking.distances(smis, query)
            max_scored = ir_ranking.max_candidates
        out.append(Elucidation(rec.get("id"), rank(ms, int(num_samples), errors, max_scored), len(ms),
                               sum(m is not None for m in ms), nfe, smiles))
    return out


CANDIDATE_COLUMNS = ("id", "rank", "smiles", "score", "count", "plausible", "shift_error")
#: how IR candidates are ranked (``elucidate --ir-ranking``): by agreement of the samples, or by re-simulation
IR_RANKINGS = ("agreement", "xtb")
OUTPUT_NAMES = ("candidates.csv", "samples.csv", "best.sdf", "elucidation.json")  # besides a picture per id


def run_elucidation(model, spectra_file, out_dir, num_samples: int, formula_known: bool = False,
                    steps: int | None = None, sampler: str | None = None, batch_size: int = 256, seed: int = 0,
                    top_pictures: int = 3, shifts: str | None = "shifts", valence: str = "complete",
                    ir_ranking: str = "agreement", ir_candidates: int = 20, workers: int = 1) -> dict:
    """``morphogen spectra elucidate``: read the records, elucidate each, write ``candidates.csv`` (id, rank,
    smiles, score, count, plausible, shift_error), ``samples.csv`` (every sample's SMILES in draw order, empty when invalid: the
    any-of-k protocol of ``evaluate``), ``best.sdf`` (each id's best candidate with its 3-D coordinates), a picture
    per id (the truth, if the record has it, beside the top candidates) and ``elucidation.json`` last. ``shifts``:
    the shift predictor that ranks NMR candidates (a name or path; None: rank by score); ``valence``: see
    :func:`elucidate`; ``ir_ranking``: ``"xtb"`` ranks the first ``ir_candidates`` candidates of each IR record by
    their GFN2-xTB spectra (:mod:`morphogen.spectra.resimulation`, ``workers`` processes; in the ``shift_error``
    column: 1 - cosine), ``"agreement"`` by score."""
    import csv
    import io
    import time
    from pathlib import Path

    from morphogen.spectra.inputs import read_records
    from morphogen.utils.outputs import atomic_json, atomic_text, remove_stale

    if ir_ranking not in IR_RANKINGS:
        raise ValueError(f"ir_ranking must be one of {IR_RANKINGS}, got {ir_ranking!r}")
    if ir_ranking == "xtb" and "ir" not in model.modalities:
        raise ValueError(f"ir_ranking 'xtb' ranks IR records, but this model reads {', '.join(model.modalities)}")
    recs = read_records(spectra_file, model.modalities, model.max_atoms, elements=model.elements)
    jobs = []
    for r in recs:
        job = r.as_job()
        if formula_known and r.formula is None:
            from morphogen.spectra.errors import SpectraDataError

            raise SpectraDataError(r.where, "--formula-known, but the record has no formula")
        if not formula_known:  # the atom count only (DiffSpectra's protocol): the formula token is hidden
            job["condition"] = dict(job["condition"], formula=torch.zeros_like(job["condition"]["formula"]),
                                    formula_present=torch.tensor(False))
        jobs.append(job)
    out = Path(out_dir)
    remove_stale(out, "elucidation.json")
    gen = torch.Generator(device=model.device).manual_seed(int(seed))
    t0 = time.perf_counter()
    predictor = None
    if shifts is not None and any(m in model.modalities for m in ("c13", "h1")):
        from morphogen.spectra.shifts import load_shift_predictor

        predictor = load_shift_predictor(shifts)
    resim = None
    if ir_ranking == "xtb":
        from morphogen.spectra.resimulation import IRResimulation

        resim = IRResimulation(workers=int(workers), max_candidates=int(ir_candidates))
    results = elucidate(model, jobs, num_samples, formula_known, steps, sampler, batch_size, gen, predictor, valence,
                        resim)
    seconds = time.perf_counter() - t0
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CANDIDATE_COLUMNS)
    for res in results:
        for c in res.candidates:
            w.writerow([res.id, c.rank, c.smiles, f"{c.score:.4f}", c.count, int(c.plausible),
                        "" if c.shift_error is None else f"{c.shift_error:.3f}"])
    atomic_text(out / "candidates.csv", buf.getvalue())
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("id", "sample", "smiles"))
    for res in results:
        for k, smi in enumerate(res.sample_smiles):
            w.writerow([res.id, k, smi or ""])
    atomic_text(out / "samples.csv", buf.getvalue())
    _write_sdf(out / "best.sdf", results)
    _write_pictures(out, recs, results, top_pictures)
    info = {"records": len(results), "num_samples": int(num_samples), "formula_known": bool(formula_known),
            "nfe_per_sample": results[0].nfe if results else 0, "sampler": str(model.make_sampler(sampler, steps)),
            "seed": int(seed), "seconds": round(seconds, 3), "valence": valence,
            "ranking": ("plausible, then shift error" if predictor is not None else
                        f"plausible, then GFN2-xTB spectrum distance (first {ir_candidates})" if resim is not None
                        else "plausible, then score"),
            "resimulated": len(resim.spectra) if resim is not None else 0,
            "resimulation_failures": len(resim.failures) if resim is not None else 0,
            "molecules_per_second": round(len(results) / seconds, 4) if seconds > 0 else None,
            "validity": float(np.mean([r.validity for r in results])) if results else 0.0}
    atomic_json(out / "elucidation.json", info)
    return info


def _write_sdf(path, results) -> None:
    from rdkit import Chem

    from morphogen.utils.outputs import atomic_text

    blocks = []
    for res in results:
        if res.candidates:
            mol = Chem.Mol(res.candidates[0].mol)
            mol.SetProp("_Name", str(res.id))
            mol.SetProp("score", f"{res.candidates[0].score:.4f}")
            blocks.append(Chem.MolToMolBlock(mol) + "$$$$\n")
    atomic_text(path, "".join(blocks))


def _write_pictures(out, recs, results, top: int) -> None:
    from rdkit import Chem
    from rdkit.Chem import Draw

    from morphogen.utils.outputs import atomic_bytes

    for rec, res in zip(recs, results):
        mols, legends = [], []
        if rec.smiles:
            mols.append(Chem.MolFromSmiles(rec.smiles))
            legends.append("truth")
        for c in res.candidates[:top]:
            mols.append(Chem.MolFromSmiles(c.smiles))
            legends.append(f"#{c.rank} ({c.count}/{res.samples})")
        if not mols:
            continue
        # returnPNG: bytes, also inside Jupyter, where RDKit swaps the PIL image for an IPython one without .save
        png = Draw.MolsToGridImage(mols, molsPerRow=len(mols), subImgSize=(220, 200), legends=legends,
                                   returnPNG=True)
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(res.id))
        atomic_bytes(out / f"{safe}.png", png if isinstance(png, bytes) else png.data)
