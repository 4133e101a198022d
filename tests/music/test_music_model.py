"""The denoiser and the any-track masking: only target tracks are corrupted, scored and generated."""
from __future__ import annotations

import torch

from morphogen.music.data import FIELD, PAD, GETScoreDataset
from morphogen.music.models.bundle import MusicModel
from morphogen.music.models.roformer import GETMusicTransformer, rotary
from morphogen.objectives.weighted import WeightedObjective
from morphogen.processes.base import FieldState

from .music_helpers import VOICES, _model, _scores


def test_output_shape_and_row_masks():
    scores = _scores(2)
    model, vocab = _model(scores)
    x = torch.randint(0, len(vocab) + 1, (3, 8, 40))
    out = model.denoiser({FIELD: FieldState(x, torch.rand(3))})[FIELD]
    assert out.shape == (3, 8, 40, len(vocab))
    pitch_ids = [i for i in range(len(vocab)) if vocab.is_pitch(i)]
    dur_ids = [i for i in range(len(vocab)) if vocab.is_duration(i)]
    assert out[:, 0::2][..., dur_ids].max() < -1e3 and out[:, 1::2][..., pitch_ids].max() < -1e3


def test_rotary_is_relative():
    q, k = torch.randn(1, 1, 1, 8).expand(1, 1, 6, 8), torch.randn(1, 1, 1, 8).expand(1, 1, 6, 8)
    s = rotary(q) @ rotary(k).transpose(-1, -2)  # depends only on the offset j - i
    assert torch.allclose(s[0, 0, 0, 2], s[0, 0, 3, 5], atol=1e-5)
    assert torch.allclose(s[0, 0, 1, 0], s[0, 0, 5, 4], atol=1e-5)


def test_training_corruption_touches_only_targets():
    scores = _scores(4)
    model, vocab = _model(scores)
    ds = GETScoreDataset(scores, vocab, VOICES, 32, (0,), 4, True, ["alto", "tenor", "bass"], seed=1)
    batch = torch.utils.data.default_collate([ds[i] for i in range(8)])
    x, m = batch["fields"][FIELD], batch["masks"][FIELD]
    assert m[:, 0:2].sum() == 0 and m[:, 2:].all()  # soprano rows are sources, the others targets
    c = model.process.corrupt({FIELD: x}, {FIELD: m}, t=torch.full((8,), 0.3))[FIELD]
    masked = c.state.value == len(vocab)
    assert masked.any() and not masked[:, 0:2].any()
    assert torch.equal(c.state.value[:, 0:2], x[:, 0:2])
    # the loss does not depend on the source rows' logits
    logits = torch.randn(8, 8, 32, len(vocab), requires_grad=True)
    model.process[FIELD].loss(logits, "logits", c).sum().backward()
    assert logits.grad[:, 0:2].abs().sum() == 0 and logits.grad[:, 2:].abs().sum() > 0


def test_random_targets_cover_subsets():
    scores = _scores(2)
    model, vocab = _model(scores)
    ds = GETScoreDataset(scores, vocab, VOICES, 32, (0,), 50, seed=3)
    pats = {tuple(ds[i]["masks"][FIELD][0::2, 0].tolist()) for i in range(100)}
    assert len(pats) > 8 and (True,) * 4 in pats and all(any(p) for p in pats)


def test_sampling_keeps_sources_and_fills_targets():
    scores = _scores(2)
    model, vocab = _model(scores)
    from morphogen.music.evaluation import batch_grids

    g, lengths, _ = batch_grids(model, scores)
    g[:, :, 40:] = PAD
    res = model.generate(g, ["alto", "bass"], steps=5, seed=0, lengths=[40, 40])
    out = res.tokens
    src_rows = [0, 1, 4, 5]
    assert torch.equal(out[:, src_rows], g[:, src_rows])
    assert torch.equal(out[:, :, 40:], g[:, :, 40:])
    tgt = out[:, [2, 3, 6, 7], :40]
    assert (tgt < len(vocab)).all() and (tgt != PAD).all()
    assert all(vocab.is_duration(int(d)) or int(d) == 1 for d in out[:, 3, :40].flatten())
    assert res.nfe == 5


def test_save_load_roundtrip(tmp_path):
    scores = _scores(2)
    model, vocab = _model(scores)
    path = model.save(tmp_path / "m.safetensors")
    back = MusicModel.load(path)
    assert back.vocab == vocab and back.track_names == VOICES
    x = torch.randint(0, len(vocab), (1, 8, 16))
    st = {FIELD: FieldState(x, torch.tensor([0.5]))}
    assert torch.allclose(back.denoiser(st)[FIELD], model.denoiser.eval()(st)[FIELD])


def test_few_steps_overfit_reduce_loss():
    torch.manual_seed(0)
    scores = _scores(2)
    model, vocab = _model(scores, d_model=64, layers=2, heads=4, d_token=16)
    ds = GETScoreDataset(scores, vocab, VOICES, 32, (0,), 4, False, ["alto", "tenor", "bass"], seed=0)
    batch = torch.utils.data.default_collate([ds[i] for i in range(8)])
    opt = torch.optim.Adam(model.denoiser.parameters(), lr=3e-3)
    model.denoiser.train()
    t = torch.linspace(0.05, 0.95, 8)
    losses = []
    for step in range(40):
        c = model.process.corrupt(batch["fields"], batch["masks"], t=t, generator=torch.Generator().manual_seed(0))
        out = WeightedObjective()(model.process, model.denoiser({FIELD: c[FIELD].state}), model.denoiser.prediction_kinds, c)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        losses.append(float(out.loss))
    assert losses[-1] < 0.5 * losses[0], losses
