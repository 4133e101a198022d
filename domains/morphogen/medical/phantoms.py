"""Generated fetal-head ultrasound phantoms with known masks, for the demo, the notebook's first look and the tests
(HC18 images may not be redistributed, and a fresh machine has none).

A phantom is an 800 x 540 grey image in HC18's geometry: a sector-shaped field of view (apex at the top) filled
with smoothed speckle; the head an ellipse with a bright skull ring that is fainter where it runs along the beam,
a darker brain with a midline echo, the whole multiplied by Rayleigh speckle and blurred. The mask is the filled
ellipse at the outer edge of the skull (as HC18's annotations trace it). They are not ultrasound physics: they are
a plausible test pattern, and every output made from them says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HEIGHT, WIDTH = 540, 800


@dataclass(frozen=True)
class Phantom:
    """image (H, W) uint8, mask (H, W) bool, the ellipse (centre (row, col), semi-axes (a, b) px, angle in
    degrees), pixel size in mm and the head circumference in mm of the mask's ellipse (Ramanujan)."""

    image: np.ndarray
    mask: np.ndarray
    center: tuple[float, float]
    semi_axes: tuple[float, float]
    angle_deg: float
    pixel_size: float
    hc_mm: float


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(x, sigma)


def ellipse_coordinates(shape, center, semi_axes, angle_deg):
    """(u, v): the pixel grid in the ellipse's frame, scaled so that u^2 + v^2 = 1 on the ellipse."""
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    th = math.radians(angle_deg)
    dr, dc = rows - center[0], cols - center[1]
    x = dc * math.cos(th) + dr * math.sin(th)
    y = -dc * math.sin(th) + dr * math.cos(th)
    return x / semi_axes[0], y / semi_axes[1]


def make_phantom(seed: int = 0, size: tuple[int, int] = (HEIGHT, WIDTH)) -> Phantom:
    """One phantom drawn from ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    h, w = size
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    # the sector: apex above the top edge, +-38 degrees
    apex_r, apex_c = -0.15 * h, w / 2
    ang = np.degrees(np.arctan2(cols - apex_c, rows - apex_r))
    rad = np.hypot(rows - apex_r, cols - apex_c)
    fov = (np.abs(ang) < 38) & (rad > 0.2 * h) & (rad < 1.12 * h)
    blobs = _blur(rng.standard_normal((h, w)), 9)
    blobs = np.clip(blobs / blobs.std() - 1.2, 0, None)
    tissue = 32 + 60 * blobs + 14 * _blur(rng.standard_normal((h, w)), 25) / 0.05 * 0.05
    # the head
    a = float(rng.uniform(0.16, 0.33) * w)
    b = float(a * rng.uniform(0.72, 0.9))
    a, b = min(a, 0.47 * h / 0.9 * 1.4), min(b, 0.45 * h)
    center = (float(rng.uniform(0.42, 0.6) * h), float(rng.uniform(0.4, 0.6) * w))
    angle = float(rng.uniform(-40, 40))
    u, v = ellipse_coordinates((h, w), center, (a, b), angle)
    r = np.sqrt(u * u + v * v)
    thick = rng.uniform(0.06, 0.1)
    ring = np.exp(-0.5 * ((r - (1 - thick / 2)) / (thick / 2.5)) ** 2)
    # skull echoes are strongest where the beam meets the bone head-on (top and bottom of the ring)
    phi = np.arctan2(rows - center[0], cols - center[1])
    patchy = _blur(rng.standard_normal((h, w)), 12)
    ring = ring * (0.35 + 0.45 * np.abs(np.sin(phi))) * np.clip(0.7 + 0.6 * patchy / patchy.std(), 0.15, 1.4)
    inner = _blur(rng.standard_normal((h, w)), 6)
    brain = (r < 1 - thick) * (-10 + 50 * np.clip(inner / inner.std() - 0.8, 0, None))
    midline = np.exp(-0.5 * (v * b / 2.5) ** 2) * (np.abs(u) < 0.8) * (r < 1 - thick) * 45
    img = tissue + brain + 175 * ring + midline
    img = img * rng.rayleigh(0.8, (h, w))
    img = _blur(img, 1.2) * fov
    image = np.clip(img, 0, 255).astype(np.uint8)
    mask = r <= 1.0
    pixel = float(rng.uniform(0.08, 0.2))
    perimeter = math.pi * (3 * (a + b) - math.sqrt((3 * a + b) * (a + 3 * b)))
    return Phantom(image, mask, center, (a, b), angle, pixel, perimeter * pixel)
