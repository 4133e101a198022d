"""One labelled (or unlabelled) 2D image of a segmentation dataset, whatever format it came in."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from morphogen.medical.errors import MedicalDataError


@dataclass(frozen=True)
class Sample2D:
    """A loaded record: image (H, W) float32 in its file's range, mask (H, W) bool (None when unlabelled), pixel
    spacing (row, column) in mm (None when unknown)."""

    image: np.ndarray
    mask: np.ndarray | None
    spacing: tuple[float, float] | None


@dataclass(frozen=True)
class SegmentationRecord:
    """A 2D image and its mask in files.

    Attributes:
        id: unique name of the image (output files are named after it), e.g. ``010_2HC``.
        subject: the patient / subject it belongs to (splits never separate a subject's images).
        image: the image file.
        mask: the label file (None: unlabelled).
        label: the label value that is the foreground (None: every non-zero pixel).
        fill: fill closed outlines in the label file (HC18 draws ellipse outlines).
        spacing: pixel spacing (row, column) in mm when a table gives it (else the file's own, if any).
        hc_mm: the reference head circumference in mm (HC18).
        extra: anything else the reader knows (view, phase).
    """

    id: str
    subject: str
    image: Path
    mask: Path | None = None
    label: int | None = None
    fill: bool = True
    spacing: tuple[float, float] | None = None
    hc_mm: float | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def load(self) -> Sample2D:
        from morphogen.medical.data.images import load_image, load_mask

        img, file_spacing = load_image(self.image)
        mask = None
        if self.mask is not None:
            mask = load_mask(self.mask, fill=self.fill, label=self.label)
            if mask.shape != img.shape:
                raise MedicalDataError(f"{self.mask}: mask of size {mask.shape[1]}x{mask.shape[0]} (WxH) does not "
                                       f"match its image {self.image} of size {img.shape[1]}x{img.shape[0]}")
        return Sample2D(img, mask, self.spacing or file_spacing)
