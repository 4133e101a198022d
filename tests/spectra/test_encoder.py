"""The spectral encoder's IR input options: the log transform's fixed points, the patch-embedding LayerNorm, and
that the default encoder is the one the first checkpoints were saved from."""
import math

import pytest
import torch

from morphogen.spectra.models.encoder import LOG_EPS, SpectrumEncoder, log_intensity


def test_log_intensity_maps_zero_and_one_to_minus_and_plus_one():
    out = log_intensity(torch.tensor([0.0, 1.0, -1e-9]))
    assert torch.allclose(out, torch.tensor([-1.0, 1.0, -1.0]), atol=1e-6)


def test_log_intensity_spreads_weak_bands():
    # a weak band at 0.004 (a typical point of a QM9 spectrum) sits near the middle of [-1, 1], not at -1
    v = float(log_intensity(torch.tensor([0.004])))
    expected = 2 * (math.log(0.004 + LOG_EPS) - math.log(LOG_EPS)) / (math.log(1 + LOG_EPS) - math.log(LOG_EPS)) - 1
    assert v == pytest.approx(expected, abs=1e-6)
    assert -0.6 < v < -0.5


def _patch_embeddings(enc, ir):
    seen = {}
    target = enc.ir_norm if enc.ir_norm is not None else enc.ir_proj
    hook = target.register_forward_hook(lambda m, i, o: seen.setdefault("emb", o))
    enc({"ir": ir}, ir.shape[0])
    hook.remove()
    return seen["emb"]


def test_ir_norm_gives_weak_spectra_token_sized_embeddings():
    torch.manual_seed(0)
    ir = torch.zeros(2, 1801)
    ir[:, 300:340] = torch.linspace(0, 0.01, 40)  # a weak spectrum: max 0.01
    plain = SpectrumEncoder(d_model=32, layers=1, heads=4)
    normed = SpectrumEncoder(d_model=32, layers=1, heads=4, ir_input="log", ir_norm=True)
    mod_norm = normed.modality.weight.norm(dim=-1).mean()
    e_norm = _patch_embeddings(normed, ir).norm(dim=-1)
    assert torch.allclose(e_norm, torch.full_like(e_norm, math.sqrt(32)), rtol=1e-3)  # LayerNorm, unit gain
    assert e_norm.mean() > 0.5 * mod_norm
    # without the options the same spectrum is a small part of the token beside its modality embedding
    plain_ir = _patch_embeddings(plain, ir) - plain.ir_proj.bias
    assert plain_ir.norm(dim=-1).max() < 0.1 * plain.modality.weight.norm(dim=-1).mean()


def test_default_encoder_has_the_first_checkpoints_parameters():
    keys = set(SpectrumEncoder(d_model=32, layers=1, heads=4).state_dict())
    assert not any(k.startswith("ir_norm") for k in keys)
    keys_new = set(SpectrumEncoder(d_model=32, layers=1, heads=4, ir_norm=True).state_dict())
    assert keys_new - keys == {"ir_norm.weight", "ir_norm.bias"}


def test_bad_ir_input_is_an_error():
    with pytest.raises(ValueError, match="ir_input"):
        SpectrumEncoder(d_model=32, layers=1, heads=4, ir_input="sqrt")
