"""Spectra: structure elucidation from spectra after DiffSpectra (Wang et al. 2025), a diffusion model over
molecular graphs (2-D) and geometries (3-D) conditioned on IR, Raman, UV-Vis and NMR spectra.

Rooms so far: :mod:`.data` (:mod:`.data.ir`: GFN2-xTB harmonic IR spectra from finite-difference Hessians;
:mod:`.data.sources`: the molecules to simulate, QM9 with its B3LYP geometries or a SMILES file;
:mod:`.data.nmrshiftdb2`: the assigned 13C / 1H shift lists of NMRShiftDB2), :mod:`.simulate` (the resumable,
parallel simulation of a spectrum set) and :mod:`.cli` (``morphogen spectra ...``).

This module imports nothing heavy so that the command line starts fast.
"""
