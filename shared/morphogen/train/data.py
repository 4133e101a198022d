"""Batches of named fields, and a sampler whose order depends only on (seed, epoch) so resumed runs repeat it."""
from __future__ import annotations

from typing import Any, Iterator, Mapping

import torch
from torch import Tensor
from torch.utils.data import Dataset, Sampler


class TensorFieldDataset(Dataset):
    """In-memory dataset of fields sharing the first dimension; item i is ``{"fields": {name: tensor[i]}}``
    (plus ``"masks": {name: mask[i]}`` for padded fields and ``"condition": condition[i]`` when given)."""

    def __init__(self, fields: Mapping[str, Tensor], condition: Tensor | None = None,
                 masks: Mapping[str, Tensor] | None = None):
        sizes = {k: v.shape[0] for k, v in fields.items()}
        if condition is not None:
            sizes["condition"] = condition.shape[0]
        for k, m in (masks or {}).items():
            if k not in fields:
                raise ValueError(f"mask given for unknown field '{k}'")
            sizes[f"mask of {k}"] = m.shape[0]
        if len(set(sizes.values())) != 1:
            raise ValueError(f"fields disagree on the number of records: {sizes}")
        self.fields, self.condition, self.masks = dict(fields), condition, dict(masks or {})
        self.n = next(iter(sizes.values()))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, Any]:
        item: dict[str, Any] = {"fields": {k: v[i] for k, v in self.fields.items()}}
        if self.masks:
            item["masks"] = {k: m[i] for k, m in self.masks.items()}
        if self.condition is not None:
            item["condition"] = self.condition[i]
        return item


class EpochShuffleSampler(Sampler[int]):
    """A random permutation per epoch drawn from ``seed + epoch`` (Lightning calls ``set_epoch``). ``batch_size`` is
    accepted for the :attr:`TrainData.shuffle` contract and not used."""

    def __init__(self, n: int, seed: int = 0, batch_size: int | None = None):
        self.n, self.seed, self.epoch = int(n), int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())


class SizeBucketSampler(Sampler[int]):
    """Batches of records of similar size, for padded data whose cost grows with the largest record of a batch
    (pair features of molecules: N^2). Per epoch, from ``seed + epoch``: a random permutation cut into pools of
    ``pool`` batches, each pool sorted by size (ties in random order) and cut into batches of ``batch_size``, and the
    full batches of all pools shuffled (the records that fill no batch of their pool go last, sorted). Every record
    appears once an epoch; with the loader's batch size equal to
    ``batch_size`` each batch is one size bucket (the collate can then trim the padding to its largest record).

    Args:
        sizes: (n,) the size of each record (e.g. atoms per molecule).
        batch_size: records per batch; seed; pool: batches per sorted pool (larger: tighter buckets, less mixing).
    """

    def __init__(self, sizes, batch_size: int, seed: int = 0, pool: int = 32):
        self.sizes = torch.as_tensor(list(sizes), dtype=torch.float64)
        if batch_size < 1 or pool < 1:
            raise ValueError(f"batch_size and pool must be >= 1, got {batch_size} and {pool}")
        self.n, self.batch_size, self.seed, self.pool, self.epoch = len(self.sizes), int(batch_size), int(seed), \
            int(pool), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        perm = torch.randperm(self.n, generator=g)
        chunk, bs = self.batch_size * self.pool, self.batch_size
        batches, rest = [], []
        for start in range(0, self.n, chunk):
            idx = perm[start:start + chunk]  # random order, so a stable sort breaks ties at random
            idx = idx[torch.sort(self.sizes[idx], stable=True).indices]
            full = len(idx) // bs * bs
            batches += list(torch.split(idx[:full], bs))
            rest.append(idx[full:])
        order = [batches[k] for k in torch.randperm(len(batches), generator=g).tolist()]
        if rest:  # the records left over by the pools, sorted, last: the loader's batches stay aligned with ours
            left = torch.cat(rest)
            order.append(left[torch.sort(self.sizes[left], stable=True).indices])
        return iter(torch.cat(order).tolist() if order else [])


def unpack_batch(batch: Mapping[str, Any]) -> tuple[dict[str, Tensor], dict[str, Tensor] | None, Any]:
    """(fields, masks, condition) of a collated batch ``{"fields": ..., "masks": ..., "condition": ...}``."""
    if not isinstance(batch, Mapping) or "fields" not in batch:
        raise ValueError("a training batch must be a mapping with a 'fields' entry (and optional 'masks', 'condition')")
    return dict(batch["fields"]), (dict(batch["masks"]) if batch.get("masks") is not None else None), batch.get("condition")
