"""Graph and molecule generation with a system of SDEs over node features X and adjacency A (GDSS, Jo et al. 2022).

Rooms: :mod:`.data` (generic graph JSON and TU format, generators, GDSS's molecule split, dense padded tensors of
graphs and molecules, :class:`~.data.kind.GraphKind`, a preset's dataset in :mod:`.data.sources`), :mod:`.models`
(ScoreNetworkX, ScoreNetworkA and the joint ``GDSSDenoiser``), :mod:`.model` (``GraphModel``, the trained model as
a core bundle, with ``generate``), :mod:`.metrics` (degree / clustering / orbit MMD), :mod:`.evaluation`,
:mod:`.samplers` (the S4 solver of GDSS), :mod:`.io` (sample files, pictures, ``write_samples``), ``presets/``,
:mod:`.pipeline` (preset -> trained model) and :mod:`.cli`. Everything molecular (SMILES, QM9 / ZINC250k / MOSES,
GDSS's decoding and valency correction, validity, uniqueness, novelty, FCD, NSPDK) is in :mod:`morphogen.molecules`,
shared with the other molecule domains. PyTorch Geometric is the interface where researchers hold their graphs:
``--preset pyg --data`` trains on any ``InMemoryDataset`` on disk (:mod:`.data.pyg`) and :func:`to_pyg` turns
samples into ``Data`` objects. Importing this package imports nothing heavy.
"""


def __getattr__(name: str):
    if name == "to_pyg":  # morphogen.graphs.to_pyg, imported on first use
        from morphogen.graphs.io.pyg import to_pyg

        return to_pyg
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
