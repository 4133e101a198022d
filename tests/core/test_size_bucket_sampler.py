"""The size-bucket sampler: every record once an epoch, batches of similar sizes, an order fixed by (seed, epoch)."""
import torch

from morphogen.train.data import SizeBucketSampler


def test_every_record_once_and_batches_are_buckets():
    g = torch.Generator().manual_seed(0)
    sizes = torch.randint(3, 30, (1000,), generator=g).tolist()
    s = SizeBucketSampler(sizes, batch_size=16, seed=1, pool=8)
    order = list(s)
    assert sorted(order) == list(range(1000)) and len(s) == 1000
    batches = [order[k:k + 16] for k in range(0, 1000, 16)]
    spread = [max(sizes[i] for i in b) - min(sizes[i] for i in b) for b in batches]
    rand = torch.randperm(1000, generator=g).tolist()
    rand_spread = [max(sizes[i] for i in rand[k:k + 16]) - min(sizes[i] for i in rand[k:k + 16])
                   for k in range(0, 1000, 16)]
    # 128-record pools sorted: a batch spans about 16/128 of the size range, random batches most of it
    assert sum(spread) / len(spread) < 0.25 * sum(rand_spread) / len(rand_spread)
    # padding to each batch's largest record: the padded size summed over batches, against random batches
    cost = sum(len(b) * max(sizes[i] for i in b) ** 2 for b in batches)
    rand_cost = sum(16 * max(sizes[i] for i in rand[k:k + 16]) ** 2 for k in range(0, 1000, 16))
    assert cost < 0.6 * rand_cost


def test_order_depends_on_seed_and_epoch_only():
    sizes = list(range(100))
    a, b = SizeBucketSampler(sizes, 10, seed=3), SizeBucketSampler(sizes, 10, seed=3)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first and sorted(a) == sorted(first)
    b.set_epoch(1)
    assert list(a) == list(b)  # a resumed run repeats the epoch's order
    assert list(SizeBucketSampler(sizes, 10, seed=4)) != first
