"""Sampling many samples across devices: each rank draws its own share with its own seeds, then all gather.

Batch j of the request covers samples [j * batch_size, (j + 1) * batch_size) and is drawn with a generator seeded
by (seed, j), whatever the number of ranks: the result is the same on one device or many, and every requested
sample is produced exactly once.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor


def _dist():
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist, dist.get_rank(), dist.get_world_size()
    return None, 0, 1


def batch_plan(num_samples: int, batch_size: int) -> list[tuple[int, int]]:
    """[(start, size), ...] covering range(num_samples)."""
    if num_samples < 0 or batch_size < 1:
        raise ValueError("num_samples must be >= 0 and batch_size >= 1")
    return [(s, min(batch_size, num_samples - s)) for s in range(0, num_samples, batch_size)]


def sample_sharded(
    draw: Callable[[int, torch.Generator], dict[str, Tensor]],
    num_samples: int,
    batch_size: int,
    seed: int = 0,
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> dict[str, Tensor]:
    """Call ``draw(size, generator) -> {field: (size, ...)}`` for this rank's batches, gather all ranks' batches,
    and return every field concatenated in request order (on the CPU, identical on every rank). Adds the field
    ``"index"`` (num_samples,) with each sample's position in the request."""
    dist, rank, world = _dist()
    plan = batch_plan(num_samples, batch_size)
    mine = list(range(rank, len(plan), world))
    it = mine
    if progress and rank == 0:
        from tqdm.auto import tqdm

        it = tqdm(mine, desc="sampling")
    local: list[tuple[int, dict[str, Tensor]]] = []
    for j in it:
        start, size = plan[j]
        g = torch.Generator(device=device).manual_seed(seed * 1_000_003 + j)
        out = {k: v.detach().cpu() for k, v in draw(size, g).items()}
        out["index"] = torch.arange(start, start + size)
        local.append((j, out))
    if dist is not None and world > 1:
        gathered: list = [None] * world
        dist.all_gather_object(gathered, local)
        local = [item for part in gathered for item in part]
    local.sort(key=lambda p: p[0])
    if not local:
        return {}
    return {k: torch.cat([part[k] for _, part in local]) for k in local[0][1]}
