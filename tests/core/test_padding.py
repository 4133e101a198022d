"""Padding variable-size sets, node masks from counts and the size histogram generation draws from."""
import json

import numpy as np
import pytest
import torch

from morphogen.utils.padding import CountHistogram, mask_from_counts, pad_sequences


def test_pad_round_trip_and_mask():
    seqs = [[3, 1, 4], np.array([1, 5], dtype=np.int32), torch.tensor([9, 2, 6, 5]), []]
    p = pad_sequences(seqs, fill=-1)
    assert p.values.shape == (4, 4) and p.values.dtype == torch.long and p.mask.dtype == torch.bool
    assert p.counts.tolist() == [3, 2, 4, 0]
    assert [p.values[b][p.mask[b]].tolist() for b in range(4)] == [[3, 1, 4], [1, 5], [9, 2, 6, 5], []]
    assert (p.values[~p.mask] == -1).all()
    assert torch.equal(p.mask, mask_from_counts(p.counts, 4))
    wide = pad_sequences(seqs, max_len=6)
    assert wide.values.shape == (4, 6) and torch.equal(wide.values[:, :4][p.mask], p.values[p.mask])


def test_pad_errors_name_the_sequence():
    with pytest.raises(ValueError, match="sequence 1 has 3 entries, more than max_len=2"):
        pad_sequences([[1], [1, 2, 3]], max_len=2)
    with pytest.raises(ValueError, match="sequence 0: expected integers"):
        pad_sequences([[0.5, 1.0]])
    with pytest.raises(ValueError, match="sequence 0: expected a 1-D array"):
        pad_sequences([[[1, 2]]])


def test_mask_from_counts():
    m = mask_from_counts(torch.tensor([0, 2, 3]), 3)
    assert m.tolist() == [[False] * 3, [True, True, False], [True] * 3]


def test_histogram_storage_round_trips():
    h = CountHistogram.from_counts(torch.tensor([2, 3, 3, 5]), length=7)
    assert h.to_list() == [0, 0, 1, 2, 0, 1, 0] and h.max_count == 5
    assert CountHistogram.from_list(json.loads(json.dumps(h.to_list()))) == h
    assert h.to_mapping() == {2: 1, 3: 2, 5: 1}
    stored = json.loads(json.dumps({str(k): v for k, v in h.to_mapping().items()}))  # a crystals checkpoint's num_atoms
    assert CountHistogram.from_mapping(stored).to_mapping() == h.to_mapping()
    assert np.allclose(h.probabilities(), [0, 0, 0.25, 0.5, 0, 0.25, 0])
    with pytest.raises(ValueError, match="every frequency is zero"):
        CountHistogram.from_list([0, 0])
    with pytest.raises(ValueError, match="size 1 has frequency -1"):
        CountHistogram.from_list([1, -1])
    with pytest.raises(ValueError, match="does not fit a histogram of length 3"):
        CountHistogram.from_counts([1, 4], length=3)


def test_histogram_draws_follow_the_frequencies():
    h = CountHistogram.from_mapping({1: 1, 4: 5, 6: 10, 9: 4})
    n = 40_000
    for draws in (h.sample(n, torch.Generator().manual_seed(0)).numpy(), h.sample_numpy(n, np.random.default_rng(0))):
        freq = np.bincount(draws, minlength=10) / n
        assert 0.5 * np.abs(freq - h.probabilities()).sum() < 0.01  # total variation; sd of each bin < 0.0025
        assert set(np.unique(draws)) == {1, 4, 6, 9}


def test_histogram_draws_are_the_ones_of_graphs_and_crystals():
    # graphs drew node counts with torch.multinomial over the stored list, crystals with numpy's choice
    stored = [0, 3, 4, 8, 26, 112, 548, 2845, 16141, 98230]
    h = CountHistogram.from_list(stored)
    for b in (1, 7, 1000):
        ref = torch.multinomial(torch.tensor(stored, dtype=torch.float), b, replacement=True,
                                generator=torch.Generator().manual_seed(3))
        assert torch.equal(h.sample(b, torch.Generator().manual_seed(3)), ref)
    num_atoms = {6: 530, 8: 447, 10: 246, 12: 192, 14: 75, 16: 60, 18: 42, 20: 14, 22: 13, 24: 7}
    ks, p = np.asarray(list(num_atoms)), np.asarray(list(num_atoms.values()), dtype=np.float64)
    ref = np.random.default_rng(5).choice(ks, size=500, p=p / p.sum())
    assert np.array_equal(CountHistogram.from_mapping(num_atoms).sample_numpy(500, np.random.default_rng(5)), ref)
