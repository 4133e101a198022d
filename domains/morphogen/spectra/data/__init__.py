"""Spectra data: simulated IR spectra (:mod:`.ir`), the molecules they are simulated for (:mod:`.sources`) and the
NMRShiftDB2 shift lists (:mod:`.nmrshiftdb2`). Import the submodules; this package imports nothing itself."""
