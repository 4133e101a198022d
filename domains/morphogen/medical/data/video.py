"""Reading one frame of a video file (EchoNet-Dynamic's .avi) as a grey image, through OpenCV."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from morphogen.medical.errors import MedicalDataError


def read_frame(path: str | os.PathLike, index: int) -> np.ndarray:
    """Frame ``index`` (0-based) of the video ``path`` as a grey image (H, W) float32 in 0..255 (the mean of its
    colour channels).

    The frames before it are decoded in order rather than sought to (seeking is approximate for some codecs);
    EchoNet's videos are short. Raises :class:`MedicalDataError` naming the file when it is missing, cannot be
    opened or decoded by OpenCV, or has no frame ``index`` (the message gives the video's frame count)."""
    import cv2

    p = Path(path)
    if index < 0:
        raise MedicalDataError(f"{p}: frame index must be >= 0, got {index}")
    if not p.is_file():
        raise MedicalDataError(f"{p}: no such file")
    cap = cv2.VideoCapture(str(p))
    try:
        if not cap.isOpened():
            raise MedicalDataError(f"{p}: OpenCV cannot open this video")
        for done in range(index):
            if not cap.grab():
                _raise_short(p, index, done)
        ok, frame = cap.read()
        if not ok or frame is None:
            _raise_short(p, index, index)
    finally:
        cap.release()
    frame = np.asarray(frame, dtype=np.float32)
    return frame.mean(axis=-1) if frame.ndim == 3 else frame


def _raise_short(path: Path, index: int, frames: int):
    if frames == 0:
        raise MedicalDataError(f"{path}: OpenCV cannot decode any frame of this video")
    raise MedicalDataError(f"{path}: frame {index} was asked for, but the video has only {frames} frame(s)")
