"""The spectral encoder of DiffSpectra (its SpecFormer, in our reading): every spectrum of a molecule becomes a
sequence of tokens with a modality embedding, and one transformer lets the tokens of all its spectra attend to each
other. Its output tokens condition the molecule denoiser through cross-attention.

Condition (a dict of tensors, any subset of modalities; a missing modality is absent or all-masked):

- ``"ir"``: (B, L) intensities on the model's fixed wavenumber grid (L = 1801 for 400-4000 cm^-1, step 2), with
  ``"ir_present"`` (B,) bool. Patches of ``patch`` points (the grid zero-padded to a multiple) are linearly embedded,
  plus a learned position embedding per patch. Computed spectra are normalised to a maximum of 1 and sparse (the
  median point of a QM9 GFN2-xTB spectrum is about 0.004): ``ir_input="log"`` feeds ``log(I + 1e-3)`` mapped
  affinely so that 0 -> -1 and 1 -> +1, which makes weak bands visible, and ``ir_norm=True`` puts a LayerNorm on
  each patch embedding, so the spectrum is not a few per cent of a token beside the O(1) modality embedding.
  The defaults (``"linear"``, False) are the encoder of the first checkpoints.
- ``"c13"`` / ``"h1"``: (B, S) chemical shifts in ppm with ``"c13_mask"`` / ``"h1_mask"`` (B, S) bool; each shift
  is a token (Fourier features of the ppm value, linearly embedded): a shift list is a set, not an image.
- ``"formula"``: (B, E) element counts (hydrogens included) with ``"formula_present"`` (B,) bool: one token.

Tokens: [CLS] + formula + IR patches + 13C shifts + 1H shifts, each plus its modality embedding. Returns the tokens
(B, T, d) and their key padding mask (B, T) (True = padding), CLS first and never padding.
"""
from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import Tensor, nn

MODALITIES = ("cls", "formula", "ir", "c13", "h1")
IR_INPUTS = ("linear", "log")
LOG_EPS = 1e-3


def fourier_features(values: Tensor, num: int, min_period: float, max_period: float) -> Tensor:
    """(...,) values -> (..., 2 num) sin/cos at geometrically spaced periods between ``min_period`` and ``max_period``."""
    periods = torch.exp(torch.linspace(math.log(min_period), math.log(max_period), num, device=values.device))
    arg = 2 * math.pi * values[..., None] / periods.to(values.dtype)
    return torch.cat([torch.sin(arg), torch.cos(arg)], dim=-1)


def log_intensity(ir: Tensor, eps: float = LOG_EPS) -> Tensor:
    """(..., L) intensities in [0, 1] -> log(I + eps), mapped affinely so that I = 0 gives -1 and I = 1 gives +1."""
    lo, hi = math.log(eps), math.log(1 + eps)
    return 2 * (torch.log(ir.clamp_min(0) + eps) - lo) / (hi - lo) - 1


class SpectrumEncoder(nn.Module):
    """Args:
        d_model: token width; layers, heads: the transformer; ir_points: L of the IR grid; patch: IR points per
        token; num_elements: E of the formula vector; dropout; ir_input: "linear" or "log", the transform of the
        intensities before the patch embedding; ir_norm: a LayerNorm on each IR patch embedding."""

    def __init__(self, d_model: int = 128, layers: int = 3, heads: int = 4, ir_points: int = 1801, patch: int = 32,
                 num_elements: int = 5, dropout: float = 0.0, ir_input: str = "linear", ir_norm: bool = False):
        super().__init__()
        if ir_input not in IR_INPUTS:
            raise ValueError(f"ir_input must be one of {IR_INPUTS}, got {ir_input!r}")
        self.d_model, self.patch, self.ir_points = int(d_model), int(patch), int(ir_points)
        self.ir_input = ir_input
        self.num_patches = math.ceil(self.ir_points / self.patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model))
        self.modality = nn.Embedding(len(MODALITIES), d_model)
        self.ir_proj = nn.Linear(self.patch, d_model)
        self.ir_norm = nn.LayerNorm(d_model) if ir_norm else None
        self.ir_pos = nn.Parameter(torch.zeros(1, self.num_patches, d_model))
        self.shift_proj = nn.ModuleDict({k: nn.Linear(32, d_model) for k in ("c13", "h1")})
        self.formula_proj = nn.Linear(num_elements, d_model)
        nn.init.normal_(self.ir_pos, std=0.02)
        nn.init.normal_(self.cls, std=0.02)
        layer = nn.TransformerEncoderLayer(d_model, heads, 4 * d_model, dropout, batch_first=True, norm_first=True,
                                           activation="gelu")
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)

    def _mod(self, name: str, like: Tensor) -> Tensor:
        return self.modality.weight[MODALITIES.index(name)].to(like.dtype)

    def forward(self, condition: Mapping[str, Tensor], batch_size: int, device=None) -> tuple[Tensor, Tensor]:
        dev = device if device is not None else self.cls.device
        dt = self.cls.dtype  # inputs follow the model's precision
        tokens, pads = [self.cls.expand(batch_size, 1, -1) + self._mod("cls", self.cls)], \
            [torch.zeros(batch_size, 1, dtype=torch.bool, device=dev)]
        if "formula" in condition:
            f = condition["formula"].to(dt)
            present = condition.get("formula_present", torch.ones(batch_size, dtype=torch.bool, device=dev))
            tok = self.formula_proj(torch.log1p(f))[:, None] + self._mod("formula", f)
            tokens.append(tok)
            pads.append(~present.bool()[:, None])
        if "ir" in condition:
            ir = condition["ir"].to(dt)
            if ir.shape[-1] != self.ir_points:
                raise ValueError(f"IR spectra of {ir.shape[-1]} points; the encoder was built for {self.ir_points}")
            if self.ir_input == "log":
                ir = log_intensity(ir)
            pad = self.num_patches * self.patch - self.ir_points
            x = torch.nn.functional.pad(ir, (0, pad)).reshape(batch_size, self.num_patches, self.patch)
            emb = self.ir_proj(x)
            if self.ir_norm is not None:
                emb = self.ir_norm(emb)
            tok = emb + self.ir_pos + self._mod("ir", x)
            present = condition.get("ir_present", torch.ones(batch_size, dtype=torch.bool, device=dev)).bool()
            tokens.append(tok)
            pads.append((~present)[:, None].expand(batch_size, self.num_patches))
        for name, (lo, hi) in (("c13", (0.5, 400.0)), ("h1", (0.05, 30.0))):
            if name in condition:
                v = condition[name].to(dt)
                m = condition.get(f"{name}_mask", torch.ones_like(v, dtype=torch.bool)).bool()
                tok = self.shift_proj[name](fourier_features(v, 16, lo, hi)) + self._mod(name, v)
                tokens.append(tok)
                pads.append(~m)
        h = torch.cat(tokens, dim=1)
        pad = torch.cat(pads, dim=1)
        return self.norm(self.transformer(h, src_key_padding_mask=pad)), pad
