"""Evaluate a samples folder (``samples.smi`` or ``graphs.json``) against a benchmark's test set."""
from __future__ import annotations

from pathlib import Path


def canonical_set(smiles: list[str]) -> set[str]:
    """Canonical SMILES of ``smiles`` (unparsable ones dropped), cached on disk under the graphs cache folder
    (``$MORPHOGEN_CACHE``), keyed by a hash of the list: canonicalising QM9's 118k training molecules takes ~20 s."""
    import hashlib

    from morphogen.molecules.convert import canonical_smiles
    from morphogen.utils.cache import cache_dir

    root = cache_dir()
    path = None
    if root is not None:
        key = hashlib.sha1("\n".join(smiles).encode()).hexdigest()[:16]
        path = root / "graphs" / f"canonical-{key}.txt"
        if path.is_file():
            return set(path.read_text().split("\n")) - {""}
    out = {c for c in (canonical_smiles(s) for s in smiles) if c}
    if path is not None:
        from morphogen.train.checkpoint import atomic_write

        atomic_write(path, lambda tmp: Path(tmp).write_text("\n".join(sorted(out))))
    return out


def evaluate_samples(samples: str | Path, reference: str, data: str | None = None, with_fcd: bool = True,
                     with_nspdk: bool = True, max_reference: int | None = None) -> dict:
    """Metric table (dict) of the samples against ``reference`` (a preset name: qm9, zinc250k, moses,
    community_small, ego_small, grid, enzymes); written to ``samples/metrics.json`` (atomically)."""
    from morphogen.graphs.data.errors import GraphDataError
    from morphogen.graphs.data.kind import GraphKind
    from morphogen.graphs.data.sources import GraphDataSpec, prepare_data
    from morphogen.graphs.pipeline import load_preset

    samples = Path(samples)
    preset = load_preset(reference)
    molecules = GraphDataSpec.of(preset).molecules
    # the samples are read (and refused) before the reference set, which can take minutes to featurise
    if not samples.is_dir():
        from morphogen.errors import NotFoundError

        if samples.exists():
            raise GraphDataError(str(samples), "is a file; --samples is the folder written by `sample`")
        raise NotFoundError(f"samples folder not found: {samples}")
    if molecules:
        from morphogen.molecules.io import read_smiles_lines

        lines = read_smiles_lines(samples / "samples.smi")
    else:
        from morphogen.graphs.data.generic import read_graph_json

        gen = read_graph_json(samples / "graphs.json")
    prepared = prepare_data(preset, data)
    ref = prepared.reference[:max_reference] if max_reference else prepared.reference
    if prepared.kind is GraphKind.MOLECULE:
        from morphogen.molecules.convert import canonical_smiles
        from morphogen.molecules.metrics import MoleculeMetrics
        from morphogen.molecules.valency import decode_molecule_from_smiles

        train = canonical_set(prepared.train_smiles or [])
        ref_can = [c for c in (canonical_smiles(s) for s in ref) if c]
        m = MoleculeMetrics(train, ref_can, with_fcd=with_fcd, with_nspdk=with_nspdk)
        m.update(decode_molecule_from_smiles(s) for s in lines)
        table = m.compute().as_dict()
    else:
        from morphogen.graphs.metrics.graph_mmd import GraphMMD

        big = reference in ("grid", "enzymes")
        m = GraphMMD(ref, *(("gaussian_tv", "gaussian_tv", "gaussian") if big else ()))
        m.update(gen)
        table = m.compute().as_dict()
    table["reference"] = reference
    from morphogen.utils.outputs import atomic_json

    atomic_json(samples / "metrics.json", table)
    return table
