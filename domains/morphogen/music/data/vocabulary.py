"""The GETScore vocabulary: one flat id space shared by all rows of the grid, saved with every model.

Ids, in order:
    0                 ``<pad>``    outside the piece (columns after its end, rows of a track the piece lacks);
    1                 ``<empty>``  inside the piece, no onset in this track at this step (both rows);
    2 .. 2+P-1        pitch tokens: one pitch, or the set of pitches with an onset together in one track at one
                      step, written ``"p:60"``, ``"p:48.52.55"``; drum tracks use their own tokens ``"d:36.42"``;
    2+P .. 2+P+D-1    duration tokens ``"dur:1"`` .. ``"dur:D"`` (16th-note steps).

A pitch row holds ``<pad>``, ``<empty>`` or a pitch token; a duration row ``<pad>``, ``<empty>`` or a duration token
(:meth:`Vocabulary.row_allowed` gives the model the sets it may predict: the same without ``<pad>``).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import combinations
from typing import Iterable, Sequence

PAD, EMPTY = 0, 1
SPECIALS = ("<pad>", "<empty>")


class VocabularyError(KeyError):
    """A pitch set or token the vocabulary does not know."""


def pitch_key(pitches: Iterable[int], drum: bool = False) -> str:
    """The token string of a set of pitches: ``"p:48.52.55"`` (sorted, duplicates removed)."""
    ps = sorted(set(int(p) for p in pitches))
    if not ps:
        raise ValueError("a pitch token needs at least one pitch")
    return ("d:" if drum else "p:") + ".".join(str(p) for p in ps)


def parse_pitch_key(key: str) -> tuple[list[int], bool]:
    """(pitches, is_drum) of a pitch token string."""
    kind, _, body = key.partition(":")
    if kind not in ("p", "d") or not body:
        raise VocabularyError(f"'{key}' is not a pitch token")
    return [int(p) for p in body.split(".")], kind == "d"


@dataclass
class Encoded:
    """A pitch set as encoded: its token id and how many of its pitches had to be left out (0 when exact)."""

    token: int
    dropped: int


class Vocabulary:
    """Token strings <-> ids.

    Args:
        pitch_tokens: the pitch tokens (strings as written by :func:`pitch_key`), in id order.
        max_duration: the longest duration token D (16th steps); longer notes are written with duration D.
    """

    def __init__(self, pitch_tokens: Sequence[str], max_duration: int = 64):
        if int(max_duration) < 1:
            raise ValueError(f"max_duration must be >= 1, got {max_duration}")
        seen = set()
        for tok in pitch_tokens:
            parse_pitch_key(tok)
            if tok in seen:
                raise ValueError(f"pitch token '{tok}' listed twice")
            seen.add(tok)
        self.pitch_tokens = list(pitch_tokens)
        self.max_duration = int(max_duration)
        self._pitch_id = {tok: len(SPECIALS) + i for i, tok in enumerate(self.pitch_tokens)}
        self.duration_offset = len(SPECIALS) + len(self.pitch_tokens)

    # -- sizes and ranges ----------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.duration_offset + self.max_duration

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocabulary) and self.to_dict() == other.to_dict()

    @property
    def num_pitch_tokens(self) -> int:
        return len(self.pitch_tokens)

    def is_pitch(self, token: int) -> bool:
        return len(SPECIALS) <= token < self.duration_offset

    def is_duration(self, token: int) -> bool:
        return self.duration_offset <= token < len(self)

    def row_allowed(self) -> tuple[list[bool], list[bool]]:
        """(allowed in a pitch row, allowed in a duration row), each a list of len(self) booleans: what a model may
        predict for a cell being generated. ``<pad>`` is never predicted (it is never a training target)."""
        n = len(self)
        pitch = [i == EMPTY or self.is_pitch(i) for i in range(n)]
        dur = [i == EMPTY or self.is_duration(i) for i in range(n)]
        return pitch, dur

    # -- tokens ----------------------------------------------------------------------------------------------
    def token_string(self, token: int) -> str:
        if 0 <= token < len(SPECIALS):
            return SPECIALS[token]
        if self.is_pitch(token):
            return self.pitch_tokens[token - len(SPECIALS)]
        if self.is_duration(token):
            return f"dur:{token - self.duration_offset + 1}"
        raise VocabularyError(f"token id {token} is outside the vocabulary (size {len(self)})")

    def duration_token(self, duration: int) -> int:
        """The id of a duration (clipped to [1, max_duration])."""
        return self.duration_offset + min(max(int(duration), 1), self.max_duration) - 1

    def duration_of(self, token: int) -> int:
        if not self.is_duration(token):
            raise VocabularyError(f"token id {token} ({self.token_string(token)}) is not a duration token")
        return token - self.duration_offset + 1

    def pitches_of(self, token: int) -> list[int]:
        if not self.is_pitch(token):
            raise VocabularyError(f"token id {token} ({self.token_string(token)}) is not a pitch token")
        return parse_pitch_key(self.pitch_tokens[token - len(SPECIALS)])[0]

    def pitch_token(self, pitches: Iterable[int], drum: bool = False, nearest: bool = False) -> Encoded:
        """The id of a pitch set. Unknown sets raise :class:`VocabularyError`, unless ``nearest``: then the largest
        subset the vocabulary knows (ties: the subset keeping the highest pitches) and the number of pitches left out.
        """
        ps = sorted(set(int(p) for p in pitches))
        key = pitch_key(ps, drum)
        if key in self._pitch_id:
            return Encoded(self._pitch_id[key], 0)
        if not nearest:
            raise VocabularyError(f"pitch set {key} is not in the vocabulary")
        for size in range(len(ps) - 1, 0, -1):
            for sub in sorted(combinations(ps, size), key=lambda c: tuple(-p for p in reversed(c))):
                k = pitch_key(sub, drum)
                if k in self._pitch_id:
                    return Encoded(self._pitch_id[k], len(ps) - size)
        raise VocabularyError(f"no pitch of {key} is in the vocabulary")

    # -- building and saving -----------------------------------------------------------------------------------
    @classmethod
    def from_pitch_sets(cls, sets: Iterable[tuple[tuple[int, ...], bool]], max_duration: int = 64,
                        min_count: int = 1) -> "Vocabulary":
        """Build from (pitches, is_drum) of every onset group seen; every single pitch seen is always kept, larger
        sets only when seen at least ``min_count`` times. Tokens are ordered: drum tokens after pitched ones, each
        by size then pitches, so the ids do not depend on the order the data came in."""
        counts = Counter(pitch_key(ps, drum) for ps, drum in sets)
        keep = [k for k, c in counts.items() if c >= min_count or "." not in k]
        for k in list(counts):  # single pitches of rare sets stay encodable
            ps, drum = parse_pitch_key(k)
            keep.extend(pitch_key([p], drum) for p in ps)

        def order(k: str):
            ps, drum = parse_pitch_key(k)
            return (drum, len(ps), ps)

        return cls(sorted(set(keep), key=order), max_duration)

    def to_dict(self) -> dict:
        return {"pitch_tokens": list(self.pitch_tokens), "max_duration": self.max_duration}

    @classmethod
    def from_dict(cls, d: dict) -> "Vocabulary":
        try:
            return cls(d["pitch_tokens"], int(d["max_duration"]))
        except (KeyError, TypeError) as err:
            raise ValueError(f"not a saved music vocabulary (missing {err})") from None
