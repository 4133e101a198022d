"""Segmentation metrics on hand-made masks with known answers: overlap, boundary distances, head circumference,
calibration; and the Metric protocol of every accumulating class."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from morphogen.medical.metrics import (
    ASSD, HD95, Calibration, DiceScore, HCError, IoUScore, assd, assd_batch, calibration, dice, dice_batch,
    ellipse_perimeter, fit_ellipse, hausdorff_distance, hc_error, hc_errors, hd95, hd95_batch, head_circumference,
    iou, iou_batch, reliability, summarize, uncertainty_correlation,
)
from morphogen.testing import assert_metric, assert_metric_classes


def rect(shape, rows, cols):
    m = np.zeros(shape, dtype=bool)
    m[rows[0]:rows[1], cols[0]:cols[1]] = True
    return m


def disc(shape, center, radius):
    r, c = np.mgrid[:shape[0], :shape[1]]
    return (r - center[0]) ** 2 + (c - center[1]) ** 2 <= radius ** 2


def ellipse_mask(shape, center, a, b, angle_deg):
    """Pixels whose centre lies inside the ellipse (semi-axis a along angle_deg from the column axis towards
    increasing rows, b across it)."""
    r, c = np.mgrid[:shape[0], :shape[1]].astype(np.float64)
    t = math.radians(angle_deg)
    dr, dc = r - center[0], c - center[1]
    u = dc * math.cos(t) + dr * math.sin(t)
    v = -dc * math.sin(t) + dr * math.cos(t)
    return (u / a) ** 2 + (v / b) ** 2 <= 1.0


def exact_perimeter(a, b):
    from scipy.special import ellipe

    a, b = max(a, b), min(a, b)
    return 4.0 * a * ellipe(1.0 - (b / a) ** 2)


# -- overlap ----------------------------------------------------------------------------------------------------------
def test_dice_and_iou_of_two_rectangles_by_hand():
    a = rect((60, 70), (10, 30), (10, 40))  # 20 x 30 = 600 px
    b = rect((60, 70), (20, 40), (25, 55))  # 600 px; overlap rows 20-29, columns 25-39: 10 x 15 = 150 px
    assert dice(a, b) == pytest.approx(2 * 150 / 1200, rel=1e-6)
    assert iou(a, b) == pytest.approx(150 / 1050, rel=1e-12)
    assert dice(a, a) == pytest.approx(1.0) and iou(b, b) == 1.0
    # numpy, torch, 0/1 integers: the same
    assert dice(torch.from_numpy(a), b.astype(np.uint8)) == pytest.approx(0.25, rel=1e-6)
    assert iou(a.astype(np.float32), torch.from_numpy(b).int()) == pytest.approx(1 / 7, rel=1e-12)


def test_dice_of_two_discs_matches_the_lens_area():
    r, d = 60.0, 50.0
    a, b = disc((200, 260), (100, 100), r), disc((200, 260), (100, 100 + d), r)
    lens = 2 * r * r * math.acos(d / (2 * r)) - d / 2 * math.sqrt(4 * r * r - d * d)
    area = math.pi * r * r
    assert dice(a, b) == pytest.approx(lens / area, rel=5e-3)
    assert iou(a, b) == pytest.approx(lens / (2 * area - lens), rel=5e-3)


def test_empty_masks_overlap():
    empty, full = np.zeros((8, 9), bool), rect((8, 9), (2, 5), (2, 6))
    assert dice(empty, empty) == 1.0 and iou(empty, empty) == 1.0
    for p, t in ((empty, full), (full, empty)):
        assert dice(p, t) == 0.0 and iou(p, t) == 0.0


def test_overlap_batches_and_bad_input():
    a = np.stack([rect((30, 30), (0, 10), (0, 10)), rect((30, 30), (5, 15), (5, 15)), np.zeros((30, 30), bool)])
    b = np.stack([rect((30, 30), (0, 10), (5, 15)), rect((30, 30), (5, 15), (5, 15)), np.zeros((30, 30), bool)])
    np.testing.assert_allclose(dice_batch(a, b), [0.5, 1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(iou_batch(torch.from_numpy(a), b), [1 / 3, 1.0, 1.0], rtol=1e-12)
    # images of different sizes as lists
    small = rect((12, 20), (2, 6), (2, 6))
    np.testing.assert_allclose(dice_batch([a[0], small], [b[0], small]), [0.5, 1.0], rtol=1e-6)
    with pytest.raises(ValueError, match="only 0 and 1"):
        dice(a[0] * 0.7, b[0])
    with pytest.raises(ValueError, match="differ in shape"):
        iou(a[0], small)
    with pytest.raises(ValueError, match="2 predicted masks for 3"):
        dice_batch(a[:2], b)


# -- boundary distances ----------------------------------------------------------------------------------------------
def brute_force_distances(p, t, spacing=(1.0, 1.0)):
    """Directed boundary distances by definition: boundary = foreground pixels with a background 4-neighbour
    (outside the image is background), all pairs of pixel centres."""
    from scipy.spatial.distance import cdist

    def boundary(m):
        q = np.pad(m, 1)
        inner = q[1:-1, 1:-1] & q[:-2, 1:-1] & q[2:, 1:-1] & q[1:-1, :-2] & q[1:-1, 2:]
        return np.argwhere(m & ~inner) * np.asarray(spacing, dtype=np.float64)

    dist = cdist(boundary(p), boundary(t))
    return dist.min(axis=1), dist.min(axis=0)


@pytest.mark.parametrize("k", [1, 3, 6])
def test_hd95_of_a_square_and_its_shift_is_the_shift(k):
    a = rect((80, 90), (20, 60), (20, 60))
    down = rect((80, 90), (20 + k, 60 + k), (20, 60))
    right = rect((80, 90), (20, 60), (20 + k, 60 + k))
    assert hd95(a, down) == pytest.approx(k, rel=1e-6)
    assert hd95(right, a) == pytest.approx(k, rel=1e-6)
    assert hausdorff_distance(a, down, percentile=None) == pytest.approx(k, rel=1e-6)
    # spacing is (row, column) mm: a shift along rows is measured with the row spacing
    assert hd95(a, down, spacing=(0.5, 2.0)) == pytest.approx(0.5 * k, rel=1e-6)
    assert hd95(a, right, spacing=(0.5, 2.0)) == pytest.approx(2.0 * k, rel=1e-6)
    assert hd95(a, right, spacing=0.3) == pytest.approx(0.3 * k, rel=1e-6)
    # ASSD: the two edges across the shift (2 x 40 of the 156 boundary pixels per mask) are k away, the sides
    # mostly 0; exact value from the definition
    d1, d2 = brute_force_distances(a, down)
    assert assd(a, down) == pytest.approx(np.concatenate([d1, d2]).mean(), rel=1e-6)
    assert assd(a, down) == pytest.approx(k / 2, rel=0.1)


def test_distances_match_their_definition_on_blobs_with_anisotropic_pixels():
    rng = np.random.default_rng(3)
    p = disc((70, 80), (33, 40), 20) & ~disc((70, 80), (20, 52), 9)
    t = disc((70, 80), (38, 36), 18) | rect((70, 80), (10, 18), (30, 60))
    p[rng.integers(0, 70, 15), rng.integers(0, 80, 15)] = True  # stray pixels far from the truth
    spacing = (0.7, 0.25)
    d1, d2 = brute_force_distances(p, t, spacing)
    want = max(np.percentile(d1, 95), np.percentile(d2, 95))  # MONAI's: per direction, then the larger
    assert hd95(p, t, spacing) == pytest.approx(want, rel=1e-5)
    assert hausdorff_distance(p, t, spacing, percentile=None) == pytest.approx(max(d1.max(), d2.max()), rel=1e-5)
    assert assd(p, t, spacing) == pytest.approx(np.concatenate([d1, d2]).mean(), rel=1e-5)


def test_empty_masks_distances():
    empty, m = np.zeros((20, 20), bool), rect((20, 20), (5, 10), (5, 10))
    assert hd95(empty, empty) == 0.0 and assd(empty, empty) == 0.0
    for p, t in ((empty, m), (m, empty)):
        assert hd95(p, t) == math.inf and assd(p, t, spacing=0.5) == math.inf
    s = summarize(hd95_batch(np.stack([m, empty]), np.stack([m, m])))
    assert s.per_image == [0.0, math.inf] and s.mean == math.inf
    assert s.mean_finite == 0.0 and s.n_nonfinite == 1 and s.n == 2


def test_spacing_is_checked():
    m = rect((20, 20), (5, 10), (5, 10))
    for bad in ((1.0, 2.0, 3.0), -1.0, (0.5, 0.0), float("nan")):
        with pytest.raises(ValueError, match="spacing"):
            hd95(m, m, spacing=bad)
    with pytest.raises(ValueError, match=r"\(B, 2\)"):
        hd95_batch(np.stack([m, m, m]), np.stack([m, m, m]), spacing=np.ones((2, 2)))
    with pytest.raises(ValueError, match="percentile"):
        hausdorff_distance(m, m, percentile=120)


# -- head circumference ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ratio", [1.0, 0.8, 0.5, 0.3])
def test_ramanujan_perimeter_against_the_elliptic_integral(ratio):
    a = 100.0
    exact = exact_perimeter(a, a * ratio)
    assert ellipse_perimeter(a, a * ratio) == pytest.approx(exact, rel=1e-4)
    assert ellipse_perimeter(a * ratio, a) == ellipse_perimeter(a, a * ratio)
    assert ellipse_perimeter(3.0, 3.0) == pytest.approx(6 * math.pi, rel=1e-14)


@pytest.mark.parametrize("a, b, angle", [(150.0, 100.0, 0.0), (140.0, 105.0, 30.0), (120.0, 95.0, 75.0),
                                         (160.0, 120.0, 120.0), (90.0, 60.0, 165.0)])
def test_fitted_ellipse_and_head_circumference_of_drawn_ellipses(a, b, angle):
    center = (270.3, 400.6)
    m = ellipse_mask((540, 800), center, a, b, angle)
    e = fit_ellipse(m)
    assert e.center == pytest.approx(center, abs=0.2)
    assert e.semi_axes == pytest.approx((a, b), abs=1.0)
    assert e.semi_axes[0] >= e.semi_axes[1]
    assert abs((e.angle_deg - angle + 90.0) % 180.0 - 90.0) < 1.0
    px = 0.12
    assert head_circumference(m, px) == pytest.approx(exact_perimeter(a, b) * px, rel=5e-3)
    # pixel centres of the outline: the same ellipse to within a pixel (half a pixel short)
    e_px = fit_ellipse(torch.from_numpy(m), boundary="pixels")
    assert e_px.semi_axes == pytest.approx((a, b), abs=1.0)


def test_head_circumference_of_an_opencv_ellipse_and_of_a_messy_mask():
    import cv2

    m = np.zeros((540, 800), np.uint8)
    cv2.ellipse(m, (420, 260), (170, 130), 20, 0, 360, 1, -1)  # cv2: (x, y) centre, (a, b), angle from x
    e = fit_ellipse(m, boundary="pixels")  # cv2 includes the pixels centred on the curve
    assert e.center == pytest.approx((260, 420), abs=0.3)
    assert e.semi_axes == pytest.approx((170, 130), abs=1.0) and e.angle_deg == pytest.approx(20, abs=1.0)
    assert head_circumference(m, 0.1, boundary="pixels") == pytest.approx(exact_perimeter(170, 130) * 0.1,
                                                                           rel=5e-3)
    # the largest component with its holes filled: a hole inside and a blob outside change nothing
    clean = ellipse_mask((540, 800), (270.0, 400.0), 150, 110, 10)
    messy = clean.copy()
    messy[250:290, 380:420] = False
    messy[10:40, 10:40] = True
    assert fit_ellipse(messy) == fit_ellipse(clean)


def test_empty_and_tiny_masks_in_head_circumference():
    empty = np.zeros((50, 60), bool)
    with pytest.raises(ValueError, match="empty"):
        fit_ellipse(empty)
    dot = empty.copy()
    dot[10, 10] = True
    with pytest.raises(ValueError, match="boundary points"):
        fit_ellipse(dot)
    assert math.isnan(head_circumference(empty, 0.1)) and math.isnan(head_circumference(dot, 0.1))
    d = hc_error(empty, 100.0, 0.1)
    assert math.isnan(d.hc_mm) and math.isnan(d.signed_mm) and math.isnan(d.absolute_mm)
    with pytest.raises(ValueError, match="pixel_size_mm"):
        head_circumference(empty, 0.0)
    with pytest.raises(ValueError, match="boundary"):
        fit_ellipse(dot, boundary="contour")


def test_hc_errors_signed_and_absolute():
    m1 = ellipse_mask((300, 400), (150, 200), 120, 90, 40)
    m2 = ellipse_mask((300, 400), (150, 200), 100, 80, 100)
    hc1, hc2 = exact_perimeter(120, 90) * 0.2, exact_perimeter(100, 80) * 0.15
    d = hc_error(m1, hc1 + 2.0, 0.2)  # the truth 2 mm larger: the measurement is 2 mm short
    assert d.signed_mm == pytest.approx(-2.0, abs=0.3) and d.absolute_mm == pytest.approx(2.0, abs=0.3)
    res = hc_errors(np.stack([m1, m2, np.zeros_like(m1)]), [hc1 + 2.0, hc2 - 1.0, 50.0], [0.2, 0.15, 0.1])
    assert res.n == 3 and res.n_failed == 1 and math.isnan(res.signed_mm[2])
    assert res.signed_mm[0] == pytest.approx(-2.0, abs=0.3) and res.signed_mm[1] == pytest.approx(1.0, abs=0.3)
    assert res.mae_mm == pytest.approx(1.5, abs=0.3) and res.mean_signed_mm == pytest.approx(-0.5, abs=0.3)


# -- calibration -----------------------------------------------------------------------------------------------------
def votes_and_truth(groups, width=100):
    """groups: (vote fraction, number of pixels, number of them foreground) -> a (rows, width) map and mask."""
    f, t = [], []
    for frac, n, fg in groups:
        f += [frac] * n
        t += [True] * fg + [False] * (n - fg)
    f, t = np.asarray(f), np.asarray(t)
    return f.reshape(-1, width), t.reshape(-1, width)


def test_a_perfectly_calibrated_ensemble_has_zero_ece():
    n_members = 5
    f, t = votes_and_truth([(k / n_members, 1000, 200 * k) for k in range(n_members + 1)])
    for dtype in (np.float64, np.float32):  # k / N lands in the same bin either way
        table = reliability(f.astype(dtype), t, bins=10)
        assert table.ece == pytest.approx(0.0, abs=1e-7)
        filled = table.count > 0
        assert table.count[filled].tolist() == [1000] * 6 and table.n == 6000
        assert np.flatnonzero(filled).tolist() == [0, 2, 4, 6, 8, 9]
        np.testing.assert_allclose(table.frequency[filled], table.mean_predicted[filled], atol=1e-7)
        assert np.isnan(table.frequency[~filled]).all()


def test_an_overconfident_ensemble_has_the_ece_computed_by_hand():
    # all members say foreground on 1000 pixels of which 800 are; none on 1000 of which 200 are; an even split
    # on 500 pixels half foreground: ECE = (1000 * 0.2 + 1000 * 0.2 + 500 * 0) / 2500
    f, t = votes_and_truth([(1.0, 1000, 800), (0.0, 1000, 200), (0.5, 500, 250)])
    table = reliability(torch.from_numpy(f), t, bins=4)
    assert table.ece == pytest.approx(0.16, abs=1e-12)
    rows = table.rows()
    assert rows[0] == (0.0, 0.25, 0.0, 0.2, 1000) and rows[3] == (0.75, 1.0, 1.0, 0.8, 1000)
    assert rows[2] == (0.5, 0.75, 0.5, 0.5, 500) and rows[1][4] == 0
    # explicit edges give the same table
    assert reliability(f, t, bins=[0.0, 0.25, 0.5, 0.75, 1.0]).ece == pytest.approx(0.16, abs=1e-12)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        reliability(f * 1.5, t)
    with pytest.raises(ValueError, match="edges"):
        reliability(f, t, bins=[0.0, 0.6, 0.5, 1.0])


def test_uncertainty_correlation():
    u = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    c = uncertainty_correlation(u, 2 * u + 0.1)
    assert c.pearson == pytest.approx(1.0) and c.spearman == pytest.approx(1.0) and c.n == 5
    from scipy import stats

    e = np.exp(-10 * u)  # monotone decreasing, not linear
    c = uncertainty_correlation(u, e)
    assert c.spearman == pytest.approx(-1.0) and -1.0 < c.pearson < -0.8
    assert c.pearson == pytest.approx(stats.pearsonr(u, e).statistic, rel=1e-12)
    assert math.isnan(uncertainty_correlation(u, np.ones(5)).pearson)
    assert math.isnan(uncertainty_correlation(u[:2], u[:2]).spearman)
    with pytest.raises(ValueError, match="5 uncertainties for 4"):
        uncertainty_correlation(u, u[:4])


def test_calibration_per_image_terms():
    truth = rect((20, 20), (5, 15), (5, 15))
    sure = truth.astype(np.float64)  # unanimous and right
    wobbly = sure.copy()
    wobbly[5:15, 5] = 2 / 3  # a column where a third of the members disagree (still foreground by majority)
    wobbly[2, 2:12] = 1 / 3
    res = calibration(np.stack([sure, wobbly]), np.stack([truth, truth]))
    assert res.mean_uncertainty[0] == 0.0 and res.one_minus_dice[0] == pytest.approx(0.0, abs=1e-6)
    assert res.mean_uncertainty[1] == pytest.approx(20 * (8 / 9) / 400)
    assert res.one_minus_dice[1] == pytest.approx(0.0, abs=1e-6)
    assert res.ece == res.reliability.ece > 0


# -- the Metric protocol ---------------------------------------------------------------------------------------------
def test_every_medical_metric_class_follows_the_protocol():
    names = {c.__name__ for c in assert_metric_classes("morphogen.medical.metrics")}
    assert {"DiceScore", "IoUScore", "HD95", "ASSD", "HCError", "Calibration"} <= names


def test_accumulating_classes_equal_their_pure_functions():
    rng = np.random.default_rng(0)
    base = [disc((48, 56), (24, 28), r) for r in (10, 14, 18, 12)]
    preds = np.stack([np.roll(m, int(s), axis=1) for m, s in zip(base, rng.integers(-3, 4, 4))])
    truths = np.stack(base)
    preds[3] = False  # an empty prediction: HD95 inf, HC failed
    first, second = (preds[0], truths[0]), (preds[1:], truths[1:])
    assert_metric(DiceScore, [first, second], summarize(dice_batch(preds, truths)))
    assert_metric(IoUScore, [first, second], summarize(iou_batch(preds, truths)))
    sp = np.array([[0.5, 0.5], [0.3, 0.6], [1.0, 1.0], [0.2, 0.2]])
    assert_metric(lambda: HD95(spacing=(0.5, 0.5)), [first, (preds[1:], truths[1:], sp[1:])],
                  summarize(hd95_batch(preds, truths, sp)))
    assert_metric(ASSD, [first, second], summarize(assd_batch(preds, truths)))
    hc = np.array([60.0, 80.0, 110.0, 75.0])
    px = np.array([0.7, 0.9, 1.0, 0.8])
    assert_metric(HCError, [(preds[0], hc[0], px[0]), (preds[1:], hc[1:], px[1:])], hc_errors(preds, hc, px))
    freq = np.clip(truths * 0.8 + rng.integers(0, 5, truths.shape) / 10.0, 0.0, 1.0)
    assert_metric(lambda: Calibration(bins=5), [(freq[:2], truths[:2]), (list(freq[2:]), list(truths[2:]))],
                  calibration(freq, truths, bins=5))
    with pytest.raises(ValueError, match="before any update"):
        DiceScore().compute()
