"""Fusing the N binary masks an ensemble gives for one image: majority vote, STAPLE, and per-pixel disagreement.

Masks are numpy arrays or torch tensors, bool or 0/1, with the members on axis -3: (N, H, W) for one image,
(..., N, H, W) for :func:`vote_fraction`, :func:`majority_vote` and :func:`uncertainty`. Results are numpy.

- :func:`vote_fraction`: f = the fraction of members marking a pixel (k / N).
- :func:`majority_vote`: foreground where *more than half* of the members say so (f > 0.5); a tie (f = 0.5, an
  even N) is background.
- :func:`uncertainty`: the disagreement 4 f (1 - f), in [0, 1]: 0 where the members are unanimous, 1 where they
  split evenly (reachable only for an even N; for N = 3 the largest value is 8 / 9). It is the Bernoulli
  variance f (1 - f) scaled to [0, 1].
- :func:`staple`: binary STAPLE (Warfield, Zou & Wells, IEEE TMI 2004), below.

STAPLE. The true segmentation T is hidden; member (rater) j has sensitivity p_j = P(D_ij = 1 | T_i = 1) and
specificity q_j = P(D_ij = 0 | T_i = 0), raters independent given T. Expectation-maximisation:

    E-step  W_i = P(T_i = 1 | D_i, p, q)
                = sigmoid( logit(pi_i) + sum_j [D_ij log(p_j / (1 - q_j)) + (1 - D_ij) log((1 - p_j) / q_j)] )
    M-step  p_j = sum_i W_i D_ij / sum_i W_i          q_j = sum_i (1 - W_i)(1 - D_ij) / sum_i (1 - W_i)

- prior pi: fixed, not re-estimated (as in the paper): by default the global foreground fraction of the masks
  (the mean over members and pixels); or a number; or an (H, W) map (e.g. an atlas). That default is biased
  when raters err unevenly (a rater with low specificity inflates it), and so, slightly, are p and q;
  ``prior="em"`` starts from it and re-estimates the global prior in every M-step as the mean posterior,
  sum_i W_i / (H W) (the latent-class model's maximum-likelihood prior).
- start: p_j = q_j = 0.99 (the first E-step is then a majority vote weighted by the prior).
- clamps: p_j, q_j are kept in [1e-6, 1 - 1e-6] and the prior in [1e-6, 1 - 1e-6], so no log is infinite and a
  perfect rater cannot freeze the EM.
- stop: when no p_j or q_j moves by more than ``tol`` in an iteration, or after ``max_iter`` iterations; the
  returned probability is the E-step of the final p, q.
- unanimous pixels (the choice made here): the per-pixel work runs over the pixels where the raters disagree.
  The unanimous pixels are not dropped nor fixed to 0 / 1: all of them share one of two vote patterns (all
  foreground / all background), so with a global prior they enter each E- and M-step as two weighted groups
  (count x one posterior each), and with a prior map as two vectors with no per-rater work. The result is
  exactly that of STAPLE over every pixel (a test checks it against a plain full-image EM), at the cost of the
  disagreement region only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from morphogen.medical.metrics.masks import binary, to_numpy

CLAMP = 1e-6
INIT = 0.99


def members(masks: Any, name: str = "masks") -> np.ndarray:
    """(..., N, H, W) masks -> numpy bool of the same shape (N >= 1)."""
    a = to_numpy(masks)
    if a.ndim < 3 or a.shape[-3] < 1:
        raise ValueError(f"{name}: ensemble masks are (..., N, H, W) with N >= 1, got shape {tuple(a.shape)}")
    return binary(a, name)


def vote_fraction(masks: Any) -> np.ndarray:
    """(..., N, H, W) masks -> (..., H, W) float64: the fraction of members marking each pixel."""
    return members(masks).mean(axis=-3, dtype=np.float64)


def majority_vote(masks: Any) -> np.ndarray:
    """(..., N, H, W) masks -> (..., H, W) bool: foreground where more than half of the members mark it."""
    m = members(masks)
    return 2 * m.sum(axis=-3) > m.shape[-3]


def disagreement(fraction: Any) -> np.ndarray:
    """Vote fractions f in [0, 1] (any shape) -> 4 f (1 - f) in [0, 1]."""
    f = to_numpy(fraction).astype(np.float64)
    if f.size and (f.min() < 0.0 or f.max() > 1.0):
        raise ValueError(f"vote fractions must lie in [0, 1], got [{f.min()}, {f.max()}]")
    return 4.0 * f * (1.0 - f)


def uncertainty(masks: Any) -> np.ndarray:
    """(..., N, H, W) masks -> (..., H, W) float64 per-pixel disagreement 4 f (1 - f) (see the module's notes)."""
    return disagreement(vote_fraction(masks))


@dataclass
class StapleResult:
    """STAPLE's estimate for one image.

    Attributes:
        probability: (H, W) float64 in [0, 1], the posterior P(T_i = 1 | masks, p, q) of the true foreground.
        sensitivity: (N,) p_j of each member.
        specificity: (N,) q_j of each member.
        iterations: EM iterations run.
        converged: whether the parameters moved less than ``tol`` before ``max_iter``.
    """

    probability: np.ndarray
    sensitivity: np.ndarray
    specificity: np.ndarray
    iterations: int
    converged: bool

    @property
    def mask(self) -> np.ndarray:
        """(H, W) bool: the fused mask, probability > 0.5."""
        return self.probability > 0.5


def _sigmoid(x: Any) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow and accurate at both tails."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _logit_prior(prior: Any, flat: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The prior's logit: a 0-d array (global) or (H * W,) (a map), after clamping."""
    if prior is None:
        pi = np.asarray(flat.mean(dtype=np.float64))
    else:
        pi = to_numpy(prior).astype(np.float64)
        if pi.ndim != 0 and pi.shape != shape:
            raise ValueError(f"prior is one number or an {shape} map, got shape {tuple(pi.shape)}")
        if not (np.isfinite(pi).all() and pi.min() >= 0.0 and pi.max() <= 1.0):
            raise ValueError("prior probabilities must lie in [0, 1]")
        pi = pi.reshape(-1) if pi.ndim else pi
    pi = np.clip(pi, CLAMP, 1.0 - CLAMP)
    return np.log(pi) - np.log1p(-pi)


def staple(masks: Any, max_iter: int = 50, tol: float = 1e-6, prior: Any = None) -> StapleResult:
    """Binary STAPLE of one image's N masks (N, H, W) (see the module's notes for every choice).

    Args:
        masks: (N, H, W) bool or 0/1, numpy or torch.
        max_iter: most EM iterations.
        tol: stop when no sensitivity or specificity changes by more than this.
        prior: None (the masks' global foreground fraction), a number, an (H, W) map of P(T = 1), or "em"
            (global, re-estimated in every M-step).
    """
    d = members(masks)
    if d.ndim != 3:
        raise ValueError(f"staple fuses one image's masks (N, H, W), got shape {tuple(d.shape)}")
    if int(max_iter) < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    n, h, w = d.shape
    flat = d.reshape(n, -1)
    votes = flat.sum(axis=0)
    dis = (votes > 0) & (votes < n)
    all_fg, all_bg = votes == n, votes == 0
    n_fg, n_bg = int(all_fg.sum()), int(all_bg.sum())
    x = flat[:, dis].T.astype(np.float64)  # (K, N) the votes at the disputed pixels

    estimate_prior = isinstance(prior, str)
    if estimate_prior and prior != "em":
        raise ValueError(f"prior is None, a number, an (H, W) map or 'em', got '{prior}'")
    lp = _logit_prior(None if estimate_prior else prior, flat, (h, w))
    if lp.ndim:  # a map: each group keeps its own prior values
        lp_dis, lp_fg, lp_bg = lp[dis], lp[all_fg], lp[all_bg]
    else:
        lp_dis = lp_fg = lp_bg = lp

    def group_sum(v: np.ndarray, count: int) -> float:
        return float(v.sum()) if v.ndim else float(v) * count

    def e_step(p: np.ndarray, q: np.ndarray):
        vote_fg = np.log(p) - np.log1p(-q)  # log-likelihood ratio of a foreground vote
        vote_bg = np.log1p(-p) - np.log(q)  # ... of a background vote
        w_dis = _sigmoid(lp_dis + vote_bg.sum() + x @ (vote_fg - vote_bg))
        return w_dis, _sigmoid(lp_fg + vote_fg.sum()), _sigmoid(lp_bg + vote_bg.sum())

    p = np.full(n, INIT)
    q = np.full(n, INIT)
    converged, it = False, 0
    for it in range(1, int(max_iter) + 1):
        w_dis, w_fg, w_bg = e_step(p, q)
        s_fg, s_bg = group_sum(w_fg, n_fg), group_sum(w_bg, n_bg)
        fg_weight = w_dis.sum() + s_fg + s_bg  # sum_i W_i over every pixel
        bg_weight = (1.0 - w_dis).sum() + (n_fg - s_fg) + (n_bg - s_bg)  # sum_i (1 - W_i)
        p_new = (x.T @ w_dis + s_fg) / fg_weight if fg_weight > 0 else p
        q_new = ((1.0 - x).T @ (1.0 - w_dis) + (n_bg - s_bg)) / bg_weight if bg_weight > 0 else q
        if estimate_prior:
            pi = min(max(fg_weight / (h * w), CLAMP), 1.0 - CLAMP)
            lp_dis = lp_fg = lp_bg = np.asarray(np.log(pi) - np.log1p(-pi))
        p_new = np.clip(p_new, CLAMP, 1.0 - CLAMP)
        q_new = np.clip(q_new, CLAMP, 1.0 - CLAMP)
        delta = max(float(np.abs(p_new - p).max()), float(np.abs(q_new - q).max()))
        p, q = p_new, q_new
        if delta < tol:
            converged = True
            break

    w_dis, w_fg, w_bg = e_step(p, q)
    prob = np.empty(h * w, dtype=np.float64)
    prob[dis], prob[all_fg], prob[all_bg] = w_dis, w_fg, w_bg
    return StapleResult(prob.reshape(h, w), p, q, it, converged)
