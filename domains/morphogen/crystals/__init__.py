"""Crystals: crystal structure prediction (CSP, composition given) and ab initio generation after CrysBFN
(Wu et al., ICLR 2025), with DiffCSP-style wrapped diffusion and torus flow matching on the same denoiser.

Rooms: :mod:`.data` (CDVAE-format CSV reader, compositions, splits, padded batches), :mod:`.models` (the periodic
invariant denoiser, the perovskite template baseline), :mod:`.metrics` (match rate / RMSE, validity, Wasserstein
distances), :mod:`.io` (CIF and index.csv writers), ``presets/`` (YAML), :mod:`.cli` (``morphogen crystals``).

Importing this package is cheap: nothing heavy (torch, pymatgen) is imported until a submodule is used.
"""
