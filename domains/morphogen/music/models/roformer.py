"""A RoFormer-style transformer over GETScore columns (the GETMusic denoiser, "GETDiff"'s network).

Embedding (factorised per column, as GETMusic does): every cell (row r, column j) gets the embedding of its token
(the vocabulary plus the mask token) plus the embedding of its row (a learned track embedding + a learned row-kind
embedding, pitch or duration); the R cell vectors of a column are concatenated and projected to one vector of width
``d_model``. The transformer then runs over the L columns (sequence length L, not R x L: attention cost does not grow
with the number of tracks) with rotary position embeddings (RoPE, Su et al. 2021) on queries and keys, so relative
time is what attention sees and any length can be generated. Time t enters every block through adaptive layer-norm
shift / scale / gate (DiT style) from a sinusoidal embedding. The output of each column is projected back to R cell
vectors, the row embedding is added, and a shared linear head gives logits over the vocabulary for every cell.
Tokens a row cannot hold (duration tokens in a pitch row and the reverse) get a logit of -1e4, so samples are always
well-formed. Columns whose every row is ``<pad>`` are ignored as attention keys.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from morphogen.nn.embeddings import SinusoidalEmbedding
from morphogen.utils.config import Configurable

BLOCKED_LOGIT = -1.0e4


def rotary(x: Tensor, base: float = 10000.0) -> Tensor:
    """Rotary position embedding of x (B, H, L, Dh) over the L axis (Dh even): pairs (i, i + Dh/2) are rotated by
    angle pos * base^(-2i/Dh)."""
    b, h, length, dh = x.shape
    half = dh // 2
    freqs = base ** (-torch.arange(half, device=x.device, dtype=torch.float32) / half)
    ang = torch.arange(length, device=x.device, dtype=torch.float32)[:, None] * freqs[None]
    cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class Block(nn.Module):
    """Pre-norm transformer block with RoPE self-attention and adaLN(t) modulation."""

    def __init__(self, d_model: int, heads: int, ff_mult: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d_model, elementwise_affine=False)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model, elementwise_affine=False)
        self.ff = nn.Sequential(nn.Linear(d_model, ff_mult * d_model), nn.GELU(), nn.Dropout(dropout),
                                nn.Linear(ff_mult * d_model, d_model))
        self.mod = nn.Linear(d_model, 6 * d_model)
        nn.init.zeros_(self.mod.weight)
        nn.init.zeros_(self.mod.bias)
        self.dropout = dropout

    def forward(self, h: Tensor, temb: Tensor, keep: Tensor) -> Tensor:
        """h: (B, L, D); temb: (B, D); keep: (B, 1, 1, L) bool, True for columns that may be attended."""
        b, length, d = h.shape
        sh1, sc1, g1, sh2, sc2, g2 = self.mod(F.silu(temb))[:, None].chunk(6, dim=-1)
        x = self.norm1(h) * (1 + sc1) + sh1
        q, k, v = self.qkv(x).view(b, length, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k = rotary(q), rotary(k)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=keep, dropout_p=self.dropout if self.training else 0.0)
        h = h + g1 * self.proj(a.transpose(1, 2).reshape(b, length, d))
        x = self.norm2(h) * (1 + sc2) + sh2
        return h + g2 * self.ff(x)


class GETMusicTransformer(Configurable, nn.Module):
    """Denoiser for a GETScore field (B, R, L) of token ids; returns logits (B, R, L, V).

    Args:
        vocab_size: V, the number of data tokens (the masked diffusion's ``num_classes``); id V is the mask token.
        num_tracks: R / 2.
        pad_id: the ``<pad>`` token (columns of only ``<pad>`` are not attended to).
        pitch_allowed, duration_allowed: V booleans each, the tokens a pitch / duration row may hold
            (:meth:`Vocabulary.row_allowed`); None allows every token.
        field: the name of the field in the state dict.
        d_token: width of the cell embeddings; d_model: width of the column vectors; layers, heads, ff_mult,
            dropout: the transformer.
    """

    def __init__(self, vocab_size: int, num_tracks: int, pad_id: int = 0, pitch_allowed: list[bool] | None = None,
                 duration_allowed: list[bool] | None = None, field: str = "tokens", d_token: int = 64,
                 d_model: int = 256, layers: int = 6, heads: int = 8, ff_mult: int = 4, dropout: float = 0.1):
        super().__init__()
        if d_model % heads or (d_model // heads) % 2:
            raise ValueError(f"d_model ({d_model}) must split into {heads} heads of even width")
        self.vocab_size, self.num_tracks, self.pad_id, self.field = int(vocab_size), int(num_tracks), int(pad_id), field
        self.rows = 2 * self.num_tracks
        self.prediction_kinds = {field: "logits"}
        self.token = nn.Embedding(self.vocab_size + 1, d_token)
        self.track = nn.Embedding(self.num_tracks, d_token)
        self.kind = nn.Embedding(2, d_token)
        self.inp = nn.Linear(self.rows * d_token, d_model)
        self.time = SinusoidalEmbedding(d_model)
        self.blocks = nn.ModuleList(Block(d_model, heads, ff_mult, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)
        self.out = nn.Linear(d_model, self.rows * d_token)
        self.out_norm = nn.LayerNorm(d_token)
        self.head = nn.Linear(d_token, self.vocab_size)
        bias = torch.zeros(self.rows, self.vocab_size)
        for r in range(self.rows):
            allowed = pitch_allowed if r % 2 == 0 else duration_allowed
            if allowed is not None:
                if len(allowed) != self.vocab_size:
                    raise ValueError(f"row masks must have {self.vocab_size} entries, got {len(allowed)}")
                bias[r] = torch.where(torch.tensor(allowed, dtype=torch.bool), 0.0, BLOCKED_LOGIT)
        self.register_buffer("row_bias", bias, persistent=False)

    def row_embedding(self) -> Tensor:
        """(R, d_token): track embedding + row-kind embedding of every row."""
        r = torch.arange(self.rows, device=self.track.weight.device)
        return self.track(r // 2) + self.kind(r % 2)

    def forward(self, state, condition=None, drop_condition=None) -> dict[str, Tensor]:
        st = state[self.field]
        x = st.value.long()
        if x.dim() != 3 or x.shape[1] != self.rows:
            raise ValueError(f"field '{self.field}': expected tokens (B, {self.rows}, L), got {tuple(x.shape)}")
        b, r, length = x.shape
        rows = self.row_embedding()
        cells = self.token(x) + rows[None, :, None, :]  # (B, R, L, d_token)
        h = self.inp(cells.permute(0, 2, 1, 3).reshape(b, length, -1))  # (B, L, d_model)
        temb = self.time(st.t)
        keep = (x != self.pad_id).any(dim=1)  # (B, L)
        keep = keep | ~keep.any(dim=1, keepdim=True)  # an all-padding sample attends everywhere (avoids NaN)
        keep = keep[:, None, None, :]
        for blk in self.blocks:
            h = blk(h, temb, keep)
        y = self.out(self.norm(h)).view(b, length, r, -1).permute(0, 2, 1, 3)  # (B, R, L, d_token)
        logits = self.head(self.out_norm(y + rows[None, :, None, :])) + self.row_bias[None, :, None, :]
        return {self.field: logits}
