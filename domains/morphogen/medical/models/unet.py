"""The Echo-DND denoiser: a conditional U-Net over the noisy mask(s) whose every scale receives image features.

Shapes: image (B, C_img, H, W) (the condition), each noisy mask field (B, 1, H, W), t (B,); H and W divisible by
2 ** (len(channels) - 1).

Two encoders run side by side at the same scales s = 0 .. L-1 (stride 2 between scales):
- the *image encoder* (MONAI residual units, no time input) gives features f_s of the ultrasound image;
- the *mask encoder* (time-modulated residual blocks) reads the noisy masks: the Gaussian chain's value x_G (real)
  and the Bernoulli chain's value x_B (0/1, read as 2 x_B - 1), stacked as channels.
At every scale the multi-scale fusion conditioning (MFC) block mixes the two: h_s = g_s + sigmoid(W_a [g_s, f_s]) *
W_b f_s (a gated injection of the image features), and h_s both feeds the next scale and is the skip connection.
The decoder upsamples from the coarsest scale, concatenates the skip h_s *and* the image features f_s again at each
scale (so image features reach every decoder scale too), with time-modulated blocks. Three 1x1 heads read the last
decoder features:
- ``x1`` for the Gaussian chain (tanh: the mask in {-1, 1} is the chain's data),
- ``logits`` for the Bernoulli chain (P(mask = 1 | state)),
- the spatial-coherence calibration head, under the key :data:`COHERENCE` (logits of the mask, trained by
  :class:`morphogen.medical.models.objective.DualNoiseObjective`; not a process field).

The same network serves the ablations: ``fields`` names the chains it reads and predicts (Gaussian only,
Bernoulli only, or both).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from morphogen.nn.embeddings import SinusoidalEmbedding
from morphogen.utils.config import Configurable

COHERENCE = "coherence"


@dataclass
class EncodedImage:
    """The conditioning image with its encoder features computed once (they do not depend on t, so a sampler's
    steps reuse them): image (B, C, H, W), features [f_0, ..., f_{L-1}]."""

    image: Tensor
    features: list

    @property
    def shape(self):
        return self.image.shape
KINDS = {"gaussian": "x1", "bernoulli": "logits"}


def _groups(c: int) -> int:
    for g in (8, 4, 2, 1):
        if c % g == 0:
            return g
    return 1


class TimeBlock(nn.Module):
    """Residual block: conv3x3 -> GroupNorm -> FiLM(t) -> SiLU, then (with ``convs=2``) conv3x3 -> GroupNorm ->
    SiLU, plus a (1x1 when the width changes) skip. (B, c_in, H, W) -> (B, c_out, H, W)."""

    def __init__(self, c_in: int, c_out: int, t_dim: int, dropout: float = 0.0, convs: int = 2):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm1 = nn.GroupNorm(_groups(c_out), c_out)
        self.film = nn.Linear(t_dim, 2 * c_out)
        self.second = convs > 1
        if self.second:
            self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
            self.norm2 = nn.GroupNorm(_groups(c_out), c_out)
        self.drop = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor, temb: Tensor) -> Tensor:
        scale, shift = self.film(temb)[:, :, None, None].chunk(2, dim=1)
        h = F.silu(self.norm1(self.conv1(x)) * (1 + scale) + shift)
        if self.second:
            h = F.silu(self.norm2(self.conv2(self.drop(h))))
        return h + self.skip(x)


class FusionBlock(nn.Module):
    """Multi-scale fusion conditioning at one scale: g + sigmoid(W_a [g, f]) * W_b f (g, f: (B, c, H, W))."""

    def __init__(self, c: int):
        super().__init__()
        self.gate = nn.Conv2d(2 * c, c, 1)
        self.value = nn.Conv2d(c, c, 1)

    def forward(self, g: Tensor, f: Tensor) -> Tensor:
        return g + torch.sigmoid(self.gate(torch.cat([g, f], dim=1))) * self.value(f)


class ImageEncoder(nn.Module):
    """MONAI residual units, each of stride 2: image (B, C, H, W) -> [f_0 (B, c_0, H/2, W/2), ...,
    f_{L-1} (B, c_{L-1}, H/2^L, W/2^L)]."""

    def __init__(self, in_channels: int, channels: Sequence[int], dropout: float = 0.0):
        super().__init__()
        from monai.networks.blocks import ResidualUnit

        units, c_prev = [], in_channels
        for i, c in enumerate(channels):
            units.append(ResidualUnit(spatial_dims=2, in_channels=c_prev, out_channels=c, strides=2,
                                      subunits=2, act="PRELU", norm=("group", {"num_groups": _groups(c)}),
                                      dropout=dropout or None))
            c_prev = c
        self.units = nn.ModuleList(units)

    def forward(self, image: Tensor) -> list[Tensor]:
        feats, h = [], image
        for unit in self.units:
            h = unit(h)
            feats.append(h)
        return feats


class DualNoiseUNet(Configurable, nn.Module):
    """Denoiser of Echo-DND's chains (see the module docstring).

    Args:
        fields: chain name -> "gaussian" | "bernoulli" (the joint process's fields, in the order read).
        image_channels: channels of the conditioning image.
        channels: widths per scale; scale s works at 1/2^(s+1) of the input size (the first unit is strided, as in
            MONAI's UNet), and a last full-resolution layer reads the upsampled features, the image and the masks.
        time_dim: width of the time embedding.
        dropout: dropout inside the blocks.
        coherence: add the spatial-coherence calibration head.
    """

    def __init__(self, fields: Mapping[str, str] | None = None, image_channels: int = 1,
                 channels: Sequence[int] = (16, 32, 64, 128, 256), time_dim: int = 64, dropout: float = 0.0,
                 coherence: bool = True):
        super().__init__()
        fields = dict(fields or {"gauss": "gaussian", "bern": "bernoulli"})
        bad = {k: v for k, v in fields.items() if v not in KINDS}
        if bad or not fields:
            raise ValueError(f"DualNoiseUNet fields must map names to 'gaussian' or 'bernoulli', got {fields}")
        if COHERENCE in fields:
            raise ValueError(f"'{COHERENCE}' is the calibration head's key, not a field name")
        self.fields, self.image_channels, self.channels = fields, int(image_channels), [int(c) for c in channels]
        self.time_dim, self.dropout, self.coherence = int(time_dim), float(dropout), bool(coherence)
        self.prediction_kinds = {k: KINDS[v] for k, v in fields.items()}
        ch, nf = self.channels, len(fields)
        self.temb = SinusoidalEmbedding(time_dim)
        self.image_encoder = ImageEncoder(image_channels, ch, dropout)
        self.stem = nn.Conv2d(nf, ch[0], 3, stride=2, padding=1)
        self.down = nn.ModuleList([nn.Conv2d(ch[i - 1], ch[i], 3, stride=2, padding=1) for i in range(1, len(ch))])
        self.enc = nn.ModuleList([TimeBlock(c, c, time_dim, dropout, convs=1) for c in ch])
        self.fuse = nn.ModuleList([FusionBlock(c) for c in ch])
        self.mid = TimeBlock(ch[-1], ch[-1], time_dim, dropout)
        self.up = nn.ModuleList([nn.ConvTranspose2d(ch[i + 1], ch[i], 2, stride=2) for i in range(len(ch) - 1)])
        # decoder scale i reads [upsampled, skip h_i, image f_i]
        self.dec = nn.ModuleList([TimeBlock(3 * ch[i], ch[i], time_dim, dropout) for i in range(len(ch) - 1)])
        self.final_up = nn.ConvTranspose2d(ch[0], ch[0], 2, stride=2)
        self.final = nn.Conv2d(ch[0] + image_channels + nf, ch[0], 3, padding=1)
        self.final_norm = nn.GroupNorm(_groups(ch[0]), ch[0])
        self.heads = nn.ModuleDict({k: nn.Conv2d(ch[0], 1, 1) for k in fields})
        if coherence:
            self.heads[COHERENCE] = nn.Conv2d(ch[0], 1, 1)

    @property
    def factor(self) -> int:
        """H and W must be multiples of this."""
        return 2 ** len(self.channels)

    def _inputs(self, state) -> Tensor:
        xs = []
        for k, kind in self.fields.items():
            v = state[k].value
            xs.append(v if kind == "gaussian" else 2.0 * v - 1.0)
        return torch.cat(xs, dim=1)

    def encode(self, image: Tensor) -> EncodedImage:
        """The condition with the image encoder's features computed once (pass it as ``condition``)."""
        return EncodedImage(image, self.image_encoder(image))

    def forward(self, state, condition=None, drop_condition=None) -> dict[str, Tensor]:
        if condition is None:
            raise ValueError("DualNoiseUNet needs the image as condition (B, C, H, W)")
        enc = condition if isinstance(condition, EncodedImage) else None
        image = enc.image if enc is not None else condition
        x = self._inputs(state)
        b, _, h, w = x.shape
        if h % self.factor or w % self.factor:
            raise ValueError(f"image size {h}x{w} is not a multiple of {self.factor}")
        if image.shape[0] != b or image.shape[-2:] != x.shape[-2:]:
            raise ValueError(f"image {tuple(image.shape)} does not fit the masks {tuple(x.shape)}")
        image = image.to(x.dtype)
        t = state[next(iter(self.fields))].t
        temb = self.temb(t)
        feats = enc.features if enc is not None else self.image_encoder(image)
        if drop_condition is not None:
            keep = (~drop_condition).to(x.dtype)[:, None, None, None]
            feats, image = [f * keep for f in feats], image * keep
        skips, hcur = [], self.stem(x)
        for i, (block, fuse) in enumerate(zip(self.enc, self.fuse)):
            if i > 0:
                hcur = self.down[i - 1](hcur)
            hcur = fuse(block(hcur, temb), feats[i])
            skips.append(hcur)
        hcur = self.mid(hcur, temb)
        for i in reversed(range(len(self.channels) - 1)):
            hcur = self.dec[i](torch.cat([self.up[i](hcur), skips[i], feats[i]], dim=1), temb)
        hcur = F.silu(self.final_norm(self.final(torch.cat([self.final_up(hcur), image, x], dim=1))))
        out = {}
        for k, kind in self.fields.items():
            y = self.heads[k](hcur)
            out[k] = torch.tanh(y) if kind == "gaussian" else y
        if self.coherence:
            out[COHERENCE] = self.heads[COHERENCE](hcur)
        return out
