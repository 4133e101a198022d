"""Polygons in pixel coordinates: their area and their filled mask (EchoNet's tracings are polygons).

Coordinates are (x, y) = (column, row) in pixels, pixel (r, c) having its centre at (x, y) = (c, r), the way
EchoNet-Dynamic's tracings and OpenCV count them.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def as_points(points: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """(N, 2) float64 array of (x, y) vertices; raises ValueError for anything else."""
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"a polygon is (N, 2) (x, y) vertices, got an array of shape {p.shape}")
    return p


def polygon_area(points: Sequence[Sequence[float]] | np.ndarray) -> float:
    """The area (pixels^2) enclosed by the closed polygon ``points`` (N, 2), by the shoelace formula; a
    self-crossing polygon gives the signed sum of its loops' areas, made positive."""
    p = as_points(points)
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def fill_polygon(points: Sequence[Sequence[float]] | np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The mask (H, W) bool of the pixels whose centre lies inside the closed polygon ``points`` (N, 2), (x, y).

    Even-odd rule, edges half-open: a centre exactly on a left or top edge is inside, on a right or bottom edge
    outside, so that the pixel count of a polygon tends to its area (a rectangle with corners at integer
    coordinates covers exactly its area in pixels). Parts of the polygon outside the frame are cut off."""
    p = as_points(points)
    h, w = int(shape[0]), int(shape[1])
    out = np.zeros((h, w), dtype=bool)
    if len(p) < 3 or h == 0 or w == 0:
        return out
    rows = np.arange(h, dtype=np.float64)[:, None]          # (H, 1): the y of each row's pixel centres
    cols = np.arange(w, dtype=np.float64)[None, :]          # (1, W)
    xa, ya = p[:, 0], p[:, 1]
    xb, yb = np.roll(xa, -1), np.roll(ya, -1)
    for x0, y0, x1, y1 in zip(xa, ya, xb, yb):
        if y0 == y1:
            continue                                        # a horizontal edge crosses no row half-openly
        spans = (y0 <= rows) != (y1 <= rows)                # (H, 1): rows whose centre line this edge crosses
        if not spans.any():
            continue
        x_cross = x0 + (rows - y0) * (x1 - x0) / (y1 - y0)  # (H, 1): where it crosses
        out ^= spans & (cols < x_cross)                     # toggle the centres left of the crossing
    return out
