"""Seeded splits by subject: no subject has images on both sides of a split."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from morphogen.medical.data.records import SegmentationRecord


def split_by_subject(records: Sequence[SegmentationRecord], val: float = 0.1, test: float = 0.15,
                     seed: int = 0) -> dict[str, list[SegmentationRecord]]:
    """{"train", "val", "test"} lists of records. The sorted unique subjects are permuted with
    ``numpy.random.default_rng(seed)``; the first round(test * S) subjects are the test split, the next
    round(val * S) the validation split, the rest training. Record order inside a split is the input's."""
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError(f"split fractions must be in [0, 1) with val + test < 1, got val={val}, test={test}")
    subjects = sorted({r.subject for r in records})
    perm = np.random.default_rng(seed).permutation(len(subjects))
    n_test, n_val = int(round(test * len(subjects))), int(round(val * len(subjects)))
    where = {}
    for rank, i in enumerate(perm):
        where[subjects[i]] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    out: dict[str, list[SegmentationRecord]] = {"train": [], "val": [], "test": []}
    for r in records:
        out[where[r.subject]].append(r)
    return out
