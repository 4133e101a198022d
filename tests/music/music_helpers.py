"""Small toy chorales and tiny models shared by the music tests."""
from __future__ import annotations

import torch

from morphogen.music.data import Note, NoteScore, Track, build_vocabulary
from morphogen.music.training import build_model, load_preset

VOICES = ["soprano", "alto", "tenor", "bass"]


def _scores(n=6):
    g = torch.Generator().manual_seed(0)
    out = []
    for k in range(n):
        tracks = []
        for v, base in zip(VOICES, (72, 65, 58, 48)):
            notes, t = [], 0
            while t < 64:
                d = int(torch.randint(1, 3, (1,), generator=g)) * 2
                notes.append(Note(t, base + int(torch.randint(-3, 4, (1,), generator=g)), min(d, 64 - t)))
                t += d
            tracks.append(Track(v, notes))
        out.append(NoteScore(tracks, (4, 4), f"toy{k}"))
    return out


def _model(scores, **over):
    preset = load_preset("chorales")
    vocab = build_vocabulary(scores, range(-1, 2), 16)
    args = {"d_model": 32, "layers": 1, "heads": 2, "d_token": 8, "dropout": 0.0, **over}
    model = build_model(preset, vocab, args)
    model.repair = {}  # the preset's default repair is the shipped model's; tests ask for repair explicitly
    return model, vocab
