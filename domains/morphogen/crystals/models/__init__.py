"""Denoisers of crystals and baselines."""
