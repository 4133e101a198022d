"""Graph and molecule generation with a system of SDEs over node features X and adjacency A (GDSS, Jo et al. 2022).

Rooms: :mod:`.data` (readers of SMILES CSV / QM9 / ZINC250k / MOSES, generic graph JSON and TU format,
generators, dense padded featurisation, a preset's dataset in :mod:`.data.sources`), :mod:`.models`
(ScoreNetworkX, ScoreNetworkA and the joint ``GDSSDenoiser``), :mod:`.model` (``GraphModel``, the trained model
as a core bundle, with ``generate``), :mod:`.metrics` (validity with and without valency correction, uniqueness,
novelty, FCD, NSPDK MMD, degree / clustering / orbit MMD), :mod:`.evaluation`, :mod:`.samplers` (the S4 solver of
GDSS), :mod:`.io` (sample files, pictures, ``write_samples``), ``presets/``, :mod:`.pipeline` (preset -> trained
model) and :mod:`.cli`. Importing this package imports nothing heavy.
"""
