"""Crystals: crystal structure prediction (CSP, composition given) and ab initio generation after CrysBFN
(Wu et al., ICLR 2025), with DiffCSP-style wrapped diffusion and torus flow matching on the same denoiser.

Rooms: :mod:`.data` (CDVAE-format CSV reader, compositions, splits, padded batches, a preset's data section),
:mod:`.models` (the periodic invariant denoiser, the model bundle :class:`CrystalModel`, the perovskite template
baseline), :mod:`.metrics` (match rate / RMSE, validity, Wasserstein distances), :mod:`.io` (CIF, index.csv and
prediction folders), ``presets/`` (YAML in the core's preset schema), :mod:`.experiment` (preset -> model ->
training -> sampling on the core pipeline), :mod:`.prediction` (predict, generate, the demo), :mod:`.cli`
(``morphogen crystals``).

Importing this package is cheap: nothing heavy (torch, pymatgen) is imported until a submodule is used.
"""
