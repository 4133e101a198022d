"""Voices as frames: the pitch each voice sounds at each 16th step (-1 for silence)."""
from __future__ import annotations

import numpy as np

from morphogen.music.data.notes import NoteScore


def voice_frames(score: NoteScore, voices: list[str] | None = None, length: int | None = None) -> np.ndarray:
    """(V, L) int: the sounding pitch of each voice at each step, -1 when silent. Where a voice sounds several
    pitches at once, its highest is taken (voices of a chorale are monophonic)."""
    names = list(voices or score.track_names)
    length = score.end if length is None else int(length)
    out = np.full((len(names), length), -1, dtype=np.int64)
    for v, name in enumerate(names):
        for n in score.track(name).notes:
            seg = out[v, n.onset: n.onset + n.duration]
            np.maximum(seg, n.pitch, out=seg)
    return out
