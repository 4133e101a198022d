"""Head circumference (HC) from a segmentation mask, as the HC18 challenge measures it: fit an ellipse to the
head's boundary and take its perimeter by Ramanujan's approximation, times the pixel size.

Steps of :func:`fit_ellipse`:

1. keep the largest connected component of the mask (8-connectivity) and fill its holes -- so pass *filled*
   masks; HC18's annotation files are ellipse outlines, which the reader fills;
2. its boundary points, ``boundary="edges"`` (default): the midpoints of the pixel edges between the component
   and the background (half-way between a foreground and a background pixel centre, i.e. on the region's true
   outline); ``boundary="pixels"``: the centres of the outermost foreground pixels (``cv2.findContours``, what
   much HC18 code does). Pixel centres lie about half a pixel *inside* the outline, so "pixels" fits semi-axes
   some 0.5 px short (HC about pi px short, ~0.5 % at HC18's sizes); "edges" fits drawn ellipses to ~0.05 px;
3. OpenCV's least-squares ``cv2.fitEllipse`` on those points.

:class:`Ellipse`: ``center`` (row, column) and ``semi_axes`` (a, b), a >= b, in pixels; ``angle_deg`` is the
direction of the a-axis measured from the column (x) axis towards increasing rows (clockwise as an image is
shown, row 0 at the top), in [0, 180).

Perimeter (Ramanujan's first approximation): pi (3 (a + b) - sqrt((3a + b)(a + 3b))); it is short by less
than 3e-6 of the exact perimeter for b / a >= 0.5 (heads are about 0.7-0.85), 2e-4 at 0.2, 0.42 % at the limit
b = 0.

Pixel size: one number per image, mm per pixel, square pixels (as HC18 gives it; an anisotropic pixel would
need the ellipse refitted in mm). Failures: :func:`fit_ellipse` raises ``ValueError`` for an empty mask or one
with too few boundary points for an ellipse (fewer than 5); :func:`head_circumference` and :func:`hc_error`
return nan instead, and :class:`HCError` counts those images in ``n_failed`` and leaves them out of its means.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from morphogen.medical.metrics.masks import as_mask, as_masks, per_image

BOUNDARY = ("edges", "pixels")


@dataclass(frozen=True)
class Ellipse:
    """center: (row, column) px; semi_axes: (a, b) px with a >= b; angle_deg: direction of the a-axis from the
    column axis towards increasing rows, in [0, 180)."""

    center: tuple[float, float]
    semi_axes: tuple[float, float]
    angle_deg: float

    @property
    def perimeter(self) -> float:
        """Ramanujan's perimeter in pixels."""
        return ellipse_perimeter(*self.semi_axes)


def ellipse_perimeter(a: float, b: float) -> float:
    """Ramanujan's approximation pi (3 (a + b) - sqrt((3a + b)(a + 3b))) of the perimeter of an ellipse with
    semi-axes a, b (any order, same unit as the result)."""
    a, b = float(a), float(b)
    if a < 0 or b < 0 or not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"semi-axes must be finite and >= 0, got ({a}, {b})")
    return math.pi * (3.0 * (a + b) - math.sqrt((3.0 * a + b) * (a + 3.0 * b)))


def largest_component(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool -> the largest 8-connected foreground component with its holes filled (all False if empty)."""
    from scipy import ndimage

    labels, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return np.zeros_like(mask, dtype=bool)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return ndimage.binary_fill_holes(labels == int(sizes.argmax()))


def edge_points(region: np.ndarray) -> np.ndarray:
    """(H, W) bool -> (K, 2) float (x = column, y = row): midpoints of the pixel edges between the region and
    the background (the image's outside counts as background)."""
    padded = np.pad(region, 1)
    h, w = region.shape
    pts = []
    for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        neighbour = padded[1 + dr:1 + dr + h, 1 + dc:1 + dc + w]
        rows, cols = np.nonzero(region & ~neighbour)
        pts.append(np.stack([cols + dc / 2.0, rows + dr / 2.0], axis=1))
    return np.concatenate(pts)


def pixel_points(region: np.ndarray) -> np.ndarray:
    """(H, W) bool -> (K, 2) float (x, y): centres of the outer boundary pixels (``cv2.findContours``)."""
    import cv2

    contours, _ = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return np.zeros((0, 2))
    return max(contours, key=len).reshape(-1, 2).astype(np.float64)


def _fit(mask: np.ndarray, boundary: str) -> tuple[Ellipse | None, str]:
    """The ellipse, or None and why not."""
    import cv2

    if boundary not in BOUNDARY:
        raise ValueError(f"boundary must be one of {BOUNDARY}, got '{boundary}'")
    if not mask.any():
        return None, "the mask is empty"
    region = largest_component(mask)
    pts = edge_points(region) if boundary == "edges" else pixel_points(region)
    if len(pts) < 5:
        return None, f"its largest component has {len(pts)} boundary points (an ellipse needs 5)"
    (cx, cy), (w, h), theta = cv2.fitEllipse(pts.astype(np.float32))
    if not all(math.isfinite(v) for v in (cx, cy, w, h, theta)) or min(w, h) <= 0:
        return None, f"the fit is degenerate (axes {w}, {h})"
    # OpenCV: the axis of length w points along theta (degrees from x towards y), h along theta + 90
    if w >= h:
        a, b, angle = w / 2.0, h / 2.0, theta
    else:
        a, b, angle = h / 2.0, w / 2.0, theta + 90.0
    return Ellipse((float(cy), float(cx)), (float(a), float(b)), float(angle % 180.0)), ""


def fit_ellipse(mask: Any, boundary: str = "edges") -> Ellipse:
    """The ellipse fitted to the boundary of the largest component of an (H, W) mask (see the module's notes);
    raises ValueError for an empty mask or one too small to fit."""
    m = as_mask(mask)
    ellipse, why = _fit(m, boundary)
    if ellipse is None:
        raise ValueError(f"no ellipse can be fitted: {why}")
    return ellipse


def _pixel_size(value: Any) -> float:
    s = float(value)
    if not (math.isfinite(s) and s > 0):
        raise ValueError(f"pixel_size_mm must be positive and finite, got {value!r}")
    return s


def head_circumference(mask: Any, pixel_size_mm: float, boundary: str = "edges") -> float:
    """HC in mm of an (H, W) mask: Ramanujan's perimeter of the fitted ellipse (pixels) times the pixel size
    (mm per pixel); nan when no ellipse can be fitted (empty or tiny mask)."""
    s = _pixel_size(pixel_size_mm)
    ellipse, _ = _fit(as_mask(mask), boundary)
    return float("nan") if ellipse is None else ellipse.perimeter * s


@dataclass
class HCDifference:
    """One image: hc_mm the measured HC, signed_mm = measured - true, absolute_mm = |signed_mm| (nan if no fit)."""

    hc_mm: float
    signed_mm: float
    absolute_mm: float


def hc_error(pred: Any, truth_hc_mm: float, pixel_size_mm: float, boundary: str = "edges") -> HCDifference:
    """The HC of a predicted (H, W) mask against the true HC (mm, e.g. HC18's table): signed (pred - truth) and
    absolute error in mm; all nan when no ellipse can be fitted to the prediction."""
    hc = head_circumference(pred, pixel_size_mm, boundary)
    signed = hc - float(truth_hc_mm)
    return HCDifference(hc, signed, abs(signed))


@dataclass
class HCResult:
    """HC errors over a set of images.

    Attributes:
        mae_mm: mean absolute error over the images with a fit (nan if none).
        mean_signed_mm: mean signed error (measured - true) over them.
        std_absolute_mm: standard deviation of the absolute errors (ddof = 0).
        n: images; n_failed: images without a fit (their entries below are nan).
        hc_mm, signed_mm, absolute_mm: per image, in the order given.
    """

    mae_mm: float
    mean_signed_mm: float
    std_absolute_mm: float
    n: int
    n_failed: int
    hc_mm: list[float] = field(repr=False)
    signed_mm: list[float] = field(repr=False)
    absolute_mm: list[float] = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"mae_mm": self.mae_mm, "mean_signed_mm": self.mean_signed_mm,
                "std_absolute_mm": self.std_absolute_mm, "n": self.n, "n_failed": self.n_failed}


def _result(diffs: list[HCDifference]) -> HCResult:
    signed = np.asarray([d.signed_mm for d in diffs], dtype=np.float64)
    ok = np.isfinite(signed)
    nan = float("nan")
    return HCResult(mae_mm=float(np.abs(signed[ok]).mean()) if ok.any() else nan,
                    mean_signed_mm=float(signed[ok].mean()) if ok.any() else nan,
                    std_absolute_mm=float(np.abs(signed[ok]).std()) if ok.any() else nan,
                    n=len(diffs), n_failed=int((~ok).sum()), hc_mm=[d.hc_mm for d in diffs],
                    signed_mm=signed.tolist(), absolute_mm=np.abs(signed).tolist())


def _differences(preds: Any, truths_hc_mm: Any, pixel_sizes_mm: Any, boundary: str) -> list[HCDifference]:
    masks = as_masks(preds, "pred")
    truth = per_image(truths_hc_mm, len(masks), "truth_hc_mm")
    sizes = per_image(pixel_sizes_mm, len(masks), "pixel_size_mm")
    return [hc_error(m, t, s, boundary) for m, t, s in zip(masks, truth, sizes)]


def hc_errors(preds: Any, truths_hc_mm: Any, pixel_sizes_mm: Any, boundary: str = "edges") -> HCResult:
    """HC errors of predicted masks (B, H, W) or a list, against true HCs (B,) mm, with pixel sizes (B,) or one
    for all (mm per pixel)."""
    return _result(_differences(preds, truths_hc_mm, pixel_sizes_mm, boundary))


class HCError:
    """Accumulates HC errors; :meth:`compute` -> :class:`HCResult` (mean absolute and mean signed error in mm,
    per image), equal to :func:`hc_errors` on everything given.

    Args:
        boundary: "edges" or "pixels", see the module's notes.
    """

    def __init__(self, boundary: str = "edges"):
        if boundary not in BOUNDARY:
            raise ValueError(f"boundary must be one of {BOUNDARY}, got '{boundary}'")
        self.boundary = boundary
        self.reset()

    def reset(self) -> None:
        """Forget the images seen (the boundary option stays)."""
        self._diffs: list[HCDifference] = []

    def update(self, pred: Any, truth_hc_mm: Any, pixel_size_mm: Any) -> list[HCDifference]:
        """Add one mask (H, W) with its true HC and pixel size, or a batch (B, H, W) with (B,) values (or one
        pixel size for all). Returns the new images' :class:`HCDifference`."""
        new = _differences(pred, truth_hc_mm, pixel_size_mm, self.boundary)
        self._diffs.extend(new)
        return new

    def compute(self) -> HCResult:
        if not self._diffs:
            raise ValueError("HCError.compute() before any update()")
        return _result(self._diffs)
