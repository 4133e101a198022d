"""A forward model of NMR: 13C and 1H chemical shifts predicted from a molecular graph, learnt from NMRShiftDB2's
unassigned-to-SMILES shift lists.

NMRShiftDB2 assigns each shift to an atom of its own numbering, which the exported SMILES does not keep, so the
model learns from the *lists*: per heavy atom a graph network predicts the 13C shift (carbons) and the shift of its
hydrogens, and a molecule's loss compares its predicted list with the measured one after sorting both. In one
dimension sorting is the optimal matching of two equally long lists, so this is the L1 distance under the best
assignment. A record takes part for a nucleus only when its list has one entry per carbon (13C) or per hydrogen /
per hydrogen-bearing heavy atom (1H), the two ways NMRShiftDB2 writes proton lists that can be matched exactly;
:func:`shift_records` counts what it leaves out.

Uses: ranking the candidates of structure elucidation by how well their predicted spectra agree with the measured
one (:func:`spectrum_distance`), and predicted spectra for molecules without measured ones.

Graph: heavy atoms (RDKit's perception of the SMILES, hydrogens implicit) with :data:`ATOM_FEATURES` features and
bonds with :data:`BOND_FEATURES`; ``layers`` rounds of edge-conditioned message passing over bonds, residual, with
layer norm. Shapes below: A = atoms of a batch (all molecules concatenated), E = directed bonds, B = molecules.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from morphogen.spectra.errors import SpectraDataError

ELEMENTS = ("C", "N", "O", "F")
ATOM_FEATURES = 4 + 6 + 5 + 3 + 1 + 1 + 5 + 3  # element, degree 0-5, H 0-4, charge -1/0/+1, aromatic, ring, ring 3-7, sp/sp2/sp3
BOND_FEATURES = 4 + 2  # single / double / triple / aromatic, conjugated, in ring
FORMAT = "morphogen.spectra.shifts/1"


@dataclass
class ShiftGraph:
    """One molecule's graph: ``x`` (n, ATOM_FEATURES), ``edges`` (e, 2) directed bond pairs, ``edge_attr`` (e,
    BOND_FEATURES), ``carbon`` (n,) bool, ``hydrogens`` (n,) attached hydrogens, ``smiles`` as parsed."""

    smiles: str
    x: np.ndarray
    edges: np.ndarray
    edge_attr: np.ndarray
    carbon: np.ndarray
    hydrogens: np.ndarray


def _one_hot(value, choices) -> list[float]:
    return [1.0 if value == c else 0.0 for c in choices]


def graph_of(mol, smiles: str = "") -> ShiftGraph:
    """The :class:`ShiftGraph` of an RDKit molecule (hydrogens implicit or explicit: explicit ones are folded into
    their heavy atom). An element outside :data:`ELEMENTS` raises :class:`SpectraDataError`."""
    from rdkit import Chem

    if any(a.GetSymbol() == "H" for a in mol.GetAtoms()):
        mol = Chem.RemoveAllHs(mol, sanitize=True)
    hyb = Chem.rdchem.HybridizationType
    ring = mol.GetRingInfo()
    x, carbon, hyd = [], [], []
    for a in mol.GetAtoms():
        sym = a.GetSymbol()
        if sym not in ELEMENTS:
            raise SpectraDataError(smiles or Chem.MolToSmiles(mol), f"element {sym} outside {ELEMENTS}")
        i = a.GetIdx()
        nh = a.GetTotalNumHs()
        x.append(_one_hot(sym, ELEMENTS) + _one_hot(min(a.GetDegree(), 5), range(6)) + _one_hot(min(nh, 4), range(5))
                 + _one_hot(a.GetFormalCharge(), (-1, 0, 1)) + [float(a.GetIsAromatic()), float(a.IsInRing())]
                 + [float(ring.IsAtomInRingOfSize(i, k)) for k in range(3, 8)]
                 + _one_hot(a.GetHybridization(), (hyb.SP, hyb.SP2, hyb.SP3)))
        carbon.append(sym == "C")
        hyd.append(nh)
    edges, attr = [], []
    bt = Chem.rdchem.BondType
    for b in mol.GetBonds():
        i, j = b.GetBeginAtomIdx(), b.GetEndAtomIdx()
        f = _one_hot(b.GetBondType(), (bt.SINGLE, bt.DOUBLE, bt.TRIPLE, bt.AROMATIC)) + [float(b.GetIsConjugated()),
                                                                                          float(b.IsInRing())]
        edges += [(i, j), (j, i)]
        attr += [f, f]
    return ShiftGraph(smiles, np.asarray(x, np.float32).reshape(-1, ATOM_FEATURES),
                      np.asarray(edges, np.int64).reshape(-1, 2), np.asarray(attr, np.float32).reshape(-1, BOND_FEATURES),
                      np.asarray(carbon, bool), np.asarray(hyd, np.int64))


def graph_of_smiles(smiles: str, where: str = "") -> ShiftGraph:
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise SpectraDataError(where or smiles, f"RDKit cannot parse the SMILES {smiles!r}")
    return graph_of(mol, smiles)


@dataclass
class GraphBatch:
    """Molecules concatenated: ``x`` (A, F), ``edges`` (E, 2) into the batch's atoms, ``edge_attr`` (E, BOND_FEATURES),
    ``mol`` (A,) molecule of each atom, ``carbon`` (A,) bool, ``hydrogens`` (A,), ``size`` B."""

    x: torch.Tensor
    edges: torch.Tensor
    edge_attr: torch.Tensor
    mol: torch.Tensor
    carbon: torch.Tensor
    hydrogens: torch.Tensor
    size: int


def batch_graphs(graphs: Sequence[ShiftGraph]) -> GraphBatch:
    offs = np.cumsum([0] + [len(g.x) for g in graphs])
    return GraphBatch(
        torch.from_numpy(np.concatenate([g.x for g in graphs])),
        torch.from_numpy(np.concatenate([g.edges + o for g, o in zip(graphs, offs)])),
        torch.from_numpy(np.concatenate([g.edge_attr for g in graphs])),
        torch.from_numpy(np.repeat(np.arange(len(graphs)), [len(g.x) for g in graphs])),
        torch.from_numpy(np.concatenate([g.carbon for g in graphs])),
        torch.from_numpy(np.concatenate([g.hydrogens for g in graphs])), len(graphs))


class ShiftNet(nn.Module):
    """Per heavy atom, (13C shift of a carbon, shift of its hydrogens), in ppm. ``width`` hidden units, ``layers``
    message-passing rounds over bonds."""

    # the output scale and offset: ppm = out * SCALE + OFFSET
    SCALE = torch.tensor([50.0, 3.0])
    OFFSET = torch.tensor([100.0, 4.0])

    def __init__(self, width: int = 128, layers: int = 5):
        super().__init__()
        self.width, self.layers = int(width), int(layers)
        self.embed = nn.Sequential(nn.Linear(ATOM_FEATURES, width), nn.SiLU(), nn.Linear(width, width))
        self.message = nn.ModuleList(nn.Sequential(nn.Linear(2 * width + BOND_FEATURES, width), nn.SiLU(),
                                                   nn.Linear(width, width)) for _ in range(layers))
        self.update = nn.ModuleList(nn.Sequential(nn.Linear(2 * width, width), nn.SiLU(), nn.Linear(width, width))
                                    for _ in range(layers))
        self.norm = nn.ModuleList(nn.LayerNorm(width) for _ in range(layers))
        self.head = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, 2))

    def forward(self, b: GraphBatch) -> torch.Tensor:
        """(A, 2) ppm: column 0 the 13C shift (meaningful for carbons), column 1 the 1H shift of the atom's
        hydrogens (meaningful where it has some)."""
        h = self.embed(b.x)
        src, dst = b.edges[:, 0], b.edges[:, 1]
        for msg, upd, norm in zip(self.message, self.update, self.norm):
            m = msg(torch.cat([h[src], h[dst], b.edge_attr], -1))
            agg = torch.zeros_like(h).index_add_(0, dst, m)
            h = norm(h + upd(torch.cat([h, agg], -1)))
        return self.head(h) * self.SCALE.to(h) + self.OFFSET.to(h)


# ------------------------------------------------------------------------------------------- lists and losses

def _padded(values: torch.Tensor, group: torch.Tensor, size: int, fill: float = 1e4):
    """(size, L) rows of ``values`` (V,) grouped by ``group`` (V,) in order, padded with ``fill``; (size, L) mask."""
    counts = torch.bincount(group, minlength=size)
    length = int(counts.max()) if counts.numel() and len(values) else 0
    start = torch.cumsum(counts, 0) - counts
    order = torch.argsort(group, stable=True)
    g = group[order]
    pos = torch.arange(len(values)) - start[g]
    out = torch.full((size, max(length, 1)), fill, dtype=values.dtype)
    out = out.index_put((g, pos), values[order])
    mask = torch.zeros((size, max(length, 1)), dtype=torch.bool).index_put((g, pos), torch.ones(len(g), dtype=torch.bool))
    return out, mask


def predicted_lists(pred: torch.Tensor, b: GraphBatch, h_per: Sequence[str]):
    """Sorted predicted lists per molecule: 13C (B, Lc) one per carbon, 1H (B, Lh) one per hydrogen (``h_per[k]``
    ``"H"``) or per hydrogen-bearing heavy atom (``"atom"``); padding sorts last. Returns (c13, c13_mask, h1,
    h1_mask)."""
    c = b.carbon
    c13, cm = _padded(pred[c, 0], b.mol[c], b.size)
    per_h = torch.tensor([p == "H" for p in h_per], dtype=torch.bool)
    reps = torch.where(per_h[b.mol], b.hydrogens, (b.hydrogens > 0).long())
    idx = torch.repeat_interleave(torch.arange(len(reps)), reps)
    h1, hm = _padded(pred[idx, 1], b.mol[idx], b.size)
    return torch.sort(c13, 1).values, cm, torch.sort(h1, 1).values, hm


def sorted_l1(pred: torch.Tensor, pmask: torch.Tensor, target: torch.Tensor, tmask: torch.Tensor, use: torch.Tensor):
    """Sum of |sorted prediction - sorted target| over the molecules ``use`` (B,) bool, and the number of shifts
    it sums; each row must have equally many entries in both (checked)."""
    L = max(pred.shape[1], target.shape[1])
    p = torch.nn.functional.pad(pred, (0, L - pred.shape[1]), value=1e4)
    t = torch.nn.functional.pad(target, (0, L - target.shape[1]), value=1e4)
    pm = torch.nn.functional.pad(pmask, (0, L - pmask.shape[1]))
    tm = torch.nn.functional.pad(tmask, (0, L - tmask.shape[1]))
    if bool(((pm.sum(1) != tm.sum(1)) & use).any()):
        raise ValueError("sorted_l1: a used molecule has lists of different lengths")
    m = pm & use[:, None]
    return (p - t).abs()[m].sum(), int(m.sum())


# ------------------------------------------------------------------------------------------- records

@dataclass
class ShiftRecord:
    """A molecule with its measured lists: ``graph``, ``c13`` (sorted ppm, one per carbon) or None, ``h1`` (sorted)
    or None with ``h_per`` ``"H"`` / ``"atom"``, ``key`` (the InChIKey connectivity layer), ``where``."""

    graph: ShiftGraph
    c13: list[float] | None
    h1: list[float] | None
    h_per: str
    key: str
    where: str


@dataclass
class RecordCounts:
    """What :func:`shift_records` kept and left out, per reason."""

    read: int = 0
    kept: int = 0
    held_out: int = 0
    c13_used: int = 0
    h1_used: int = 0
    c13_count_mismatch: int = 0
    h1_count_mismatch: int = 0
    unusable: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def shift_records(path, exclude_keys=(), max_heavy_atoms: int | None = 40) -> tuple[list[ShiftRecord], RecordCounts]:
    """The NMRShiftDB2 records of C, N, O, F molecules (hydrogens implicit) of at most ``max_heavy_atoms`` heavy
    atoms with an experimental 13C or 1H list, outside ``exclude_keys`` (connectivity layers: the elucidation
    test and validation structures), each nucleus kept where its list length matches (module docstring)."""
    from rdkit import Chem, RDLogger

    from morphogen.spectra.data.nmr import connectivity_key
    from morphogen.spectra.data.nmrshiftdb2 import read_nmrshiftdb2

    RDLogger.DisableLog("rdApp.*")
    exclude = set(exclude_keys)
    counts = RecordCounts()
    out = []
    for r in read_nmrshiftdb2(path, elements=ELEMENTS, max_heavy_atoms=max_heavy_atoms, require=()):
        if r.c13 is None and r.h1 is None:
            continue
        counts.read += 1
        key = connectivity_key(r.smiles, r.where)
        if key in exclude:
            counts.held_out += 1
            continue
        mol = Chem.MolFromSmiles(r.smiles)
        g = graph_of(mol, r.smiles)
        c13 = h1 = None
        h_per = "atom"
        if r.c13 is not None:
            if len(r.c13) == int(g.carbon.sum()):
                c13 = sorted(r.c13)
                counts.c13_used += 1
            else:
                counts.c13_count_mismatch += 1
        if r.h1 is not None:
            if len(r.h1) == int(g.hydrogens.sum()):
                h1, h_per = sorted(r.h1), "H"
            elif len(r.h1) == int((g.hydrogens > 0).sum()):
                h1 = sorted(r.h1)
            if h1 is None:
                counts.h1_count_mismatch += 1
            else:
                counts.h1_used += 1
        if c13 is None and h1 is None:
            counts.unusable += 1
            continue
        out.append(ShiftRecord(g, c13, h1, h_per, key, r.where))
        counts.kept += 1
    return out, counts


def _targets(recs: Sequence[ShiftRecord]):
    def pad(lists):
        L = max([len(v) for v in lists if v is not None] + [1])
        t = torch.full((len(lists), L), 1e4)
        m = torch.zeros((len(lists), L), dtype=torch.bool)
        for i, v in enumerate(lists):
            if v is not None:
                t[i, :len(v)] = torch.tensor(v)
                m[i, :len(v)] = True
        return t, m

    c13, cm = pad([r.c13 for r in recs])
    h1, hm = pad([r.h1 for r in recs])
    return c13, cm, torch.tensor([r.c13 is not None for r in recs]), h1, hm, torch.tensor([r.h1 is not None for r in recs])


def batch_loss(net: ShiftNet, recs: Sequence[ShiftRecord], h_weight: float = 10.0):
    """(loss, 13C absolute error sum, 13C count, 1H absolute error sum, 1H count): mean L1 in ppm, 1H errors
    weighted ``h_weight`` (about the ratio of the two nuclei's shift ranges)."""
    b = batch_graphs([r.graph for r in recs])
    pred = net(b)
    pc, pcm, ph, phm = predicted_lists(pred, b, [r.h_per for r in recs])
    tc, tcm, cuse, th, thm, huse = _targets(recs)
    ec, nc = sorted_l1(pc, pcm, tc, tcm, cuse)
    eh, nh = sorted_l1(ph, phm, th, thm, huse)
    loss = (ec + h_weight * eh) / max(nc + nh, 1)
    return loss, float(ec.detach()), nc, float(eh.detach()), nh


# ------------------------------------------------------------------------------------------- the predictor

@dataclass
class ShiftPredictor:
    """A trained :class:`ShiftNet` with what it was trained on (``notes``: data counts, validation errors)."""

    net: ShiftNet
    notes: dict = field(default_factory=dict)

    def predict(self, smiles_list: Sequence[str], batch_size: int = 256) -> list[tuple[list[float], list[float]] | None]:
        """Per SMILES, (13C one per carbon, 1H one per hydrogen-bearing heavy atom), both sorted ppm; None for a
        SMILES that does not parse or holds an element outside :data:`ELEMENTS`."""
        graphs: list[ShiftGraph | None] = []
        for s in smiles_list:
            try:
                graphs.append(graph_of_smiles(s))
            except SpectraDataError:
                graphs.append(None)
        out: list = [None] * len(graphs)
        ok = [i for i, g in enumerate(graphs) if g is not None and len(g.x)]
        self.net.eval()
        with torch.inference_mode():
            for s in range(0, len(ok), batch_size):
                idx = ok[s:s + batch_size]
                b = batch_graphs([graphs[i] for i in idx])
                pred = self.net(b)
                for k, i in enumerate(idx):
                    at = b.mol == k
                    p = pred[at]
                    c = sorted(round(float(v), 2) for v in p[b.carbon[at], 0])
                    h = sorted(round(float(v), 3) for v in p[b.hydrogens[at] > 0, 1])
                    out[i] = (c, h)
        return out

    def save(self, path) -> Path:
        from morphogen.train.checkpoint import save_model

        config = {"format": FORMAT, "width": self.net.width, "layers": self.net.layers, "notes": self.notes}
        return save_model(path, {k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}, config)

    @classmethod
    def load(cls, path) -> "ShiftPredictor":
        from morphogen.train.checkpoint import load_model

        state, config = load_model(path)
        if config.get("format") != FORMAT:
            raise SpectraDataError(str(path), f"not a shift predictor (format {config.get('format')!r}, "
                                              f"expected {FORMAT!r})")
        net = ShiftNet(int(config["width"]), int(config["layers"]))
        net.load_state_dict(state)
        net.eval()
        return cls(net, dict(config.get("notes", {})))


SHIPPED = Path(__file__).resolve().parent / "checkpoints" / "forward" / "shifts.safetensors"  # not a bundle: kept out of the checkpoint folder the bundle store lists


def load_shift_predictor(name_or_path: str | None = None) -> ShiftPredictor:
    """The shipped predictor (``None`` or ``"shifts"``) or one at a path."""
    p = SHIPPED if name_or_path in (None, "shifts") else Path(name_or_path)
    if not p.is_file():
        raise SpectraDataError(str(p), "no such shift-predictor file")
    return ShiftPredictor.load(p)


def spectrum_distance(pred: Sequence[float], observed: Sequence[float], missing: float) -> float:
    """Mean absolute difference of two shift lists matched in sorted order (their quantiles when the lengths
    differ), plus ``missing`` ppm per entry of length difference. 0 for two empty lists."""
    a, b = np.sort(np.asarray(pred, float)), np.sort(np.asarray(observed, float))
    if a.size == 0 or b.size == 0:
        return missing * max(a.size, b.size)
    if a.size == b.size:
        d = float(np.abs(a - b).mean())
    else:
        q = (np.arange(max(a.size, b.size)) + 0.5) / max(a.size, b.size)
        d = float(np.abs(np.quantile(a, q) - np.quantile(b, q)).mean())
    return d + missing * abs(a.size - b.size)


def train_shift_predictor(records: Sequence[ShiftRecord], val: Sequence[ShiftRecord], epochs: int = 40,
                          batch_size: int = 64, lr: float = 1e-3, width: int = 128, layers: int = 5, seed: int = 0,
                          log=print) -> ShiftPredictor:
    """AdamW with a cosine decay over ``epochs`` passes; returns the weights of the epoch with the lowest
    validation 13C error."""
    import copy

    torch.manual_seed(seed)
    net = ShiftNet(width, layers)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * math.ceil(len(records) / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.05)
    rng = np.random.default_rng(seed)
    best, best_state, history = float("inf"), None, []
    for ep in range(epochs):
        net.train()
        order = rng.permutation(len(records))
        for s in range(0, len(order), batch_size):
            loss, *_ = batch_loss(net, [records[i] for i in order[s:s + batch_size]])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            sched.step()
        mae_c, mae_h = evaluate_shifts(net, val)
        history.append({"epoch": ep + 1, "val_c13_mae": round(mae_c, 3), "val_h1_mae": round(mae_h, 4)})
        log(json.dumps(history[-1]))
        if mae_c < best:
            best, best_state = mae_c, copy.deepcopy(net.state_dict())
    net.load_state_dict(best_state)
    return ShiftPredictor(net.eval(), {"history": history})


def evaluate_shifts(net: ShiftNet, recs: Sequence[ShiftRecord], batch_size: int = 256) -> tuple[float, float]:
    """(13C, 1H) mean absolute error in ppm under the sorted matching."""
    net.eval()
    ec = eh = 0.0
    nc = nh = 0
    with torch.inference_mode():
        for s in range(0, len(recs), batch_size):
            _, a, b, c, d = batch_loss(net, recs[s:s + batch_size])
            ec, nc, eh, nh = ec + a, nc + b, eh + c, nh + d
    return ec / max(nc, 1), eh / max(nh, 1)


def with_predicted_spectra(molecules, predictor: ShiftPredictor) -> tuple[list, int]:
    """Copies of :class:`~morphogen.spectra.data.molecules.SpectrumMolecule` s without measured shifts given the
    predictor's 13C (one per carbon) and 1H (one per hydrogen-bearing heavy atom) lists, marked
    ``extra["spectra"] = "predicted"``; a molecule the predictor cannot read keeps none. Returns (molecules, how many
    got spectra)."""
    import dataclasses

    preds = predictor.predict([m.smiles for m in molecules])
    out, n = [], 0
    for m, p in zip(molecules, preds):
        if p is None or (m.c13 is not None or m.h1 is not None):
            out.append(m)
            continue
        out.append(dataclasses.replace(m, c13=list(p[0]) or None, h1=list(p[1]) or None,
                                       extra=dict(m.extra, spectra="predicted")))
        n += 1
    return out, n

