"""Frechet ChemNet Distance (Preuer et al. 2018) with the ``fcd`` package: ChemNet activations of two SMILES lists,
a Gaussian fit to each, the Frechet distance between the Gaussians. ChemNet and the statistics of each reference
list are kept for the life of the process (several samplers or checkpoints evaluated against one test set pay for
the reference once)."""
from __future__ import annotations

import hashlib
from typing import Sequence

_CACHE: dict = {}  # "chemnet" -> the model; ("stats", hash of a reference list) -> (mean, covariance)


def _chemnet_stats(smiles: Sequence[str], model) -> tuple:
    import numpy as np
    from fcd import get_predictions

    act = get_predictions(model, list(smiles))
    return np.mean(act, axis=0), np.cov(act.T)


def fcd(gen_smiles: Sequence[str], ref_smiles: Sequence[str]) -> float:
    """FCD between generated and reference SMILES (both non-empty; canonicalise them first, as GDSS does)."""
    import torch
    from fcd import calculate_frechet_distance, load_ref_model

    if not gen_smiles or not ref_smiles:
        raise ValueError("FCD needs non-empty generated and reference SMILES lists")
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    model = _CACHE.get("chemnet")
    if model is None:
        model = _CACHE["chemnet"] = load_ref_model()
    key = ("stats", hashlib.sha1("\n".join(ref_smiles).encode()).hexdigest())
    if key not in _CACHE:
        _CACHE[key] = _chemnet_stats(ref_smiles, model)
    mu_r, sig_r = _CACHE[key]
    mu_g, sig_g = _chemnet_stats(gen_smiles, model)
    return float(calculate_frechet_distance(mu1=mu_g, sigma1=sig_g, mu2=mu_r, sigma2=sig_r))
