"""Fusion of an ensemble's masks: majority vote, disagreement, and STAPLE against raters of known sensitivity and
specificity."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from morphogen.medical.ensemble import majority_vote, staple, uncertainty, vote_fraction

H, W = 540, 800


def overlap(a, b):
    return 2.0 * (a & b).sum() / (a.sum() + b.sum())


@pytest.fixture(scope="module")
def truth():
    r, c = np.mgrid[:H, :W]
    return ((r - 270) / 200.0) ** 2 + ((c - 400) / 300.0) ** 2 <= 1.0  # ~44 % foreground


def raters(truth, rates, seed):
    """One mask per (sensitivity, specificity), each pixel flipped independently."""
    rng = np.random.default_rng(seed)
    return np.stack([np.where(truth, rng.random(truth.shape) < p, rng.random(truth.shape) >= q) for p, q in rates])


def test_majority_vote_and_disagreement_by_hand():
    m = np.array([[[1, 1, 0, 0]], [[1, 0, 1, 0]], [[1, 0, 0, 0]]], dtype=bool)  # 3 members, a 1 x 4 image
    assert majority_vote(m).tolist() == [[True, False, False, False]]
    np.testing.assert_allclose(vote_fraction(m), [[1.0, 1 / 3, 1 / 3, 0.0]])
    np.testing.assert_allclose(uncertainty(m), [[0.0, 8 / 9, 8 / 9, 0.0]])
    two = np.array([[[1, 1]], [[0, 1]]])  # an even split is a tie: background, disagreement 1
    assert majority_vote(two).tolist() == [[False, True]]
    np.testing.assert_allclose(uncertainty(two), [[1.0, 0.0]])
    batch = torch.from_numpy(np.stack([m, ~m]))  # (B, N, H, W)
    assert majority_vote(batch).shape == (2, 1, 4)
    assert majority_vote(batch)[1].tolist() == [[False, True, True, True]]
    with pytest.raises(ValueError, match=r"\(\.\.\., N, H, W\)"):
        majority_vote(np.zeros((4, 5), bool))
    with pytest.raises(ValueError, match="only 0 and 1"):
        uncertainty(m * 0.5)


def test_staple_recovers_the_raters_sensitivity_and_specificity(truth):
    rates = [(0.95, 0.99), (0.90, 0.98), (0.60, 0.70)]
    res = staple(raters(truth, rates, seed=0))
    assert res.probability.shape == (H, W) and res.probability.dtype == np.float64
    assert 0.0 <= res.probability.min() and res.probability.max() <= 1.0
    np.testing.assert_allclose(res.sensitivity, [p for p, _ in rates], atol=0.02)
    np.testing.assert_allclose(res.specificity, [q for _, q in rates], atol=0.02)
    assert 1 <= res.iterations <= 50
    # the prior re-estimated by EM removes most of the fixed prior's bias
    em = staple(raters(truth, rates, seed=0), prior="em", max_iter=30)
    np.testing.assert_allclose(em.sensitivity, [p for p, _ in rates], atol=0.01)
    np.testing.assert_allclose(em.specificity, [q for _, q in rates], atol=0.01)


def test_staple_beats_the_majority_when_two_raters_are_bad(truth):
    masks = raters(truth, [(0.95, 0.99), (0.60, 0.70), (0.65, 0.75)], seed=1)
    res = staple(torch.from_numpy(masks))
    fused, vote = overlap(res.mask, truth), overlap(majority_vote(masks), truth)
    assert fused > vote + 0.05, (fused, vote)
    assert res.sensitivity[0] > res.sensitivity[1:].max() and res.specificity[0] > res.specificity[1:].max()


def test_staple_of_identical_raters_returns_their_mask():
    m = np.zeros((60, 80), bool)
    m[10:40, 20:70] = True
    res = staple(np.stack([m, m, m, m]))
    assert (res.mask == m).all() and res.converged
    np.testing.assert_allclose(res.probability, m.astype(float), atol=1e-6)
    assert (res.sensitivity > 0.999).all() and (res.specificity > 0.999).all()


def plain_staple(masks, prior, max_iter, tol):
    """STAPLE over every pixel, written out rater by rater (the reference for the grouped implementation)."""
    d = masks.reshape(masks.shape[0], -1).astype(np.float64)
    pi = np.clip(np.broadcast_to(prior, masks.shape[1:]).reshape(-1), 1e-6, 1 - 1e-6)
    p, q = np.full(d.shape[0], 0.99), np.full(d.shape[0], 0.99)

    def posterior(p, q):
        on, off = pi.copy(), 1.0 - pi
        for j in range(d.shape[0]):
            on *= np.where(d[j] == 1, p[j], 1 - p[j])
            off *= np.where(d[j] == 1, 1 - q[j], q[j])
        return on / (on + off)

    for it in range(1, max_iter + 1):
        w = posterior(p, q)
        new_p = np.clip((d * w).sum(1) / w.sum(), 1e-6, 1 - 1e-6)
        new_q = np.clip(((1 - d) * (1 - w)).sum(1) / (1 - w).sum(), 1e-6, 1 - 1e-6)
        done = max(np.abs(new_p - p).max(), np.abs(new_q - q).max()) < tol
        p, q = new_p, new_q
        if done:
            break
    return posterior(p, q).reshape(masks.shape[1:]), p, q, it


@pytest.mark.parametrize("prior_kind", ["global", "number", "map"])
def test_staple_over_disputed_pixels_equals_staple_over_every_pixel(prior_kind):
    rng = np.random.default_rng(5)
    r, c = np.mgrid[:40, :50]
    t = (r - 20) ** 2 + (c - 25) ** 2 < 15 ** 2
    masks = raters(t, [(0.9, 0.95), (0.8, 0.9), (0.7, 0.85), (0.95, 0.97)], seed=6)
    prior = {"global": None, "number": 0.3, "map": rng.uniform(0.05, 0.95, t.shape)}[prior_kind]
    res = staple(masks, max_iter=40, tol=1e-9, prior=prior)
    want_prior = masks.mean() if prior is None else prior
    prob, p, q, it = plain_staple(masks, want_prior, 40, 1e-9)
    np.testing.assert_allclose(res.probability, prob, atol=1e-9)
    np.testing.assert_allclose(res.sensitivity, p, atol=1e-9)
    np.testing.assert_allclose(res.specificity, q, atol=1e-9)
    assert res.iterations == it


def test_staple_checks_its_input():
    m = np.zeros((3, 10, 12), bool)
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        staple(np.zeros((2, 3, 10, 12), bool))
    with pytest.raises(ValueError, match="prior"):
        staple(m, prior=np.full((5, 5), 0.5))
    with pytest.raises(ValueError, match="prior"):
        staple(m, prior=1.5)
    with pytest.raises(ValueError, match="'em'"):
        staple(m, prior="mean")
    with pytest.raises(ValueError, match="max_iter"):
        staple(m, max_iter=0)
    empty = staple(m)  # nothing marked anywhere: no foreground, and no nan
    assert np.isfinite(empty.probability).all() and not empty.mask.any()
