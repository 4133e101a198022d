"""Graph and molecule generation with a system of SDEs over node features X and adjacency A (GDSS, Jo et al. 2022).

Rooms: :mod:`.data` (generic graph JSON and TU format, generators, GDSS's molecule split, dense padded tensors of
graphs and molecules, :class:`~.data.kind.GraphKind`), :mod:`.models` (ScoreNetworkX, ScoreNetworkA and the joint
``GDSSDenoiser``), :mod:`.metrics` (degree / clustering / orbit MMD), :mod:`.samplers` (the S4 solver of GDSS),
:mod:`.io`, ``presets/`` and :mod:`.cli`. Everything molecular (SMILES, QM9 / ZINC250k / MOSES, GDSS's decoding
and valency correction, validity, uniqueness, novelty, FCD, NSPDK) is in :mod:`morphogen.molecules`, shared with
the other molecule domains. Importing this package imports nothing heavy.
"""
