"""One labelled (or unlabelled) 2D image of a segmentation dataset, whatever format it came in: an image file and
its label file (:class:`SegmentationRecord`), or a frame of a video and its traced outline (:class:`VideoFrameRecord`,
EchoNet-Dynamic)."""
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

    @property
    def labelled(self) -> bool:
        """Whether :meth:`load` gives a mask."""
        return self.mask is not None

    def cache_key(self) -> list:
        """What a prepared copy of this record depends on (its files' fingerprints and how they are read): part of
        the key of the prepared-set cache."""
        from morphogen.utils.cache import file_fingerprint

        return [type(self).__name__, self.id, file_fingerprint(self.image),
                file_fingerprint(self.mask) if self.mask is not None else None, self.label, self.fill]

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


@dataclass(frozen=True)
class VideoFrameRecord(SegmentationRecord):
    """A frame of a video and the outline traced on it (EchoNet-Dynamic): ``image`` is the video file, ``frame``
    the frame's index (0-based) and ``outline`` the polygon's vertices (N, 2), (x, y) = (column, row) in pixels of
    the frame; the mask is the filled polygon (:func:`morphogen.medical.data.polygon.fill_polygon`). ``mask``,
    ``label`` and ``fill`` are unused."""

    frame: int = 0
    outline: tuple[tuple[float, float], ...] = ()

    def __post_init__(self):
        if len(self.outline) < 3:
            raise MedicalDataError(f"{self.image}, frame {self.frame} ({self.id}): an outline needs at least 3 "
                                   f"vertices, got {len(self.outline)}")

    @property
    def labelled(self) -> bool:
        return True

    def cache_key(self) -> list:
        from morphogen.utils.cache import file_fingerprint

        return [type(self).__name__, self.id, file_fingerprint(self.image), self.frame,
                [[float(x), float(y)] for x, y in self.outline]]

    def load(self) -> Sample2D:
        """The frame (H, W) float32 grey 0..255 and the filled outline (H, W) bool; no spacing (EchoNet gives none).

        Raises :class:`MedicalDataError` naming the video when it cannot be read, has no such frame, or when the
        outline covers no pixel of the frame."""
        from morphogen.medical.data.polygon import fill_polygon
        from morphogen.medical.data.video import read_frame

        img = read_frame(self.image, self.frame)
        mask = fill_polygon(self.outline, img.shape)
        if not mask.any():
            raise MedicalDataError(f"{self.image}, frame {self.frame} ({self.id}): the traced outline covers no pixel "
                                   f"of the {img.shape[1]}x{img.shape[0]} frame")
        return Sample2D(img, mask, self.spacing)
