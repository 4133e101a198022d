"""Reading 2D images and masks from the formats of the field (PNG, JPEG, BMP, TIFF, NIfTI, MetaImage .mhd/.raw)
into (H, W) float arrays, through MONAI's ``LoadImage``.

Orientation: arrays are returned as (rows, columns), the way the image is displayed. PIL formats are read with
``reverse_indexing=False`` (already row-major); NIfTI stores (x, y) = (column, row), so its arrays are transposed;
MetaImage files are read by :func:`morphogen.medical.data.metaimage.monai_reader` (row-major, no transpose).
A colour image is turned grey (mean of its channels); a 3D volume with one slice is squeezed; anything else is
refused with the file's name.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from morphogen.medical.errors import MedicalDataError

PIL_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
NIFTI_SUFFIXES = (".nii", ".nii.gz")
META_SUFFIXES = (".mhd", ".mha")
IMAGE_SUFFIXES = PIL_SUFFIXES + NIFTI_SUFFIXES + META_SUFFIXES
#: the most pixels an image may have (a 2D ultrasound frame has about half a million): larger files are refused
#: from their header, before their data are read
MAX_PIXELS = 40_000_000


def image_suffix(path: str | os.PathLike) -> str:
    """The format suffix of ``path`` (``.nii.gz`` counts as one), lower case; '' when it is none of ours."""
    name = Path(path).name.lower()
    for suf in sorted(IMAGE_SUFFIXES, key=len, reverse=True):
        if name.endswith(suf):
            return suf
    return ""


def image_stem(path: str | os.PathLike) -> str:
    """The file name without its format suffix (``case_01.nii.gz`` -> ``case_01``)."""
    name = Path(path).name
    suf = image_suffix(path)
    return name[: len(name) - len(suf)] if suf else Path(path).stem


def header_shape(path: Path, suffix: str) -> tuple[int, ...] | None:
    """The array shape a file's header announces (PIL formats, NIfTI, MetaImage), without reading its data; None
    when the header cannot be read (the full read then reports the problem)."""
    try:
        if suffix in PIL_SUFFIXES:
            import warnings

            from PIL import Image

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(path) as im:
                    return (im.size[1], im.size[0])
        if suffix in NIFTI_SUFFIXES:
            import nibabel as nib

            return tuple(int(v) for v in nib.load(str(path)).header.get_data_shape())
        from morphogen.medical.data.metaimage import read_header

        header, _ = read_header(path)
        return tuple(int(v) for v in header.get("DimSize", "").split())
    except MedicalDataError:
        raise
    except Exception:
        return None


def _check_size(path: Path, suffix: str) -> None:
    shape = header_shape(path, suffix)
    if shape:
        n = int(np.prod([max(1, s) for s in shape], dtype=np.float64))
        if n > MAX_PIXELS:
            raise MedicalDataError(f"{path}: an image of {' x '.join(map(str, shape))} = {n:,} pixels; at most "
                                   f"{MAX_PIXELS:,} are read (2D images; a volume must be given slice by slice)")


def _reader(suffix: str):
    if suffix in PIL_SUFFIXES:
        from monai.data import PILReader

        return PILReader(reverse_indexing=False)
    if suffix in NIFTI_SUFFIXES:
        from monai.data import NibabelReader

        return NibabelReader()
    from morphogen.medical.data.metaimage import monai_reader

    return monai_reader()


def load_array(path: str | os.PathLike) -> tuple[np.ndarray, tuple[float, float] | None]:
    """(array (H, W) float32 in the file's own value range, pixel spacing (row, column) in mm or None).

    Raises :class:`MedicalDataError` naming the file when it is missing, not an image, of an unknown format, or
    not 2D."""
    p = Path(path)
    suffix = image_suffix(p)
    if not suffix:
        raise MedicalDataError(f"{p}: not an image file we read (formats: {', '.join(IMAGE_SUFFIXES)})")
    if not p.is_file():
        raise MedicalDataError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise MedicalDataError(f"{p}: empty file")
    _check_size(p, suffix)
    from monai.transforms import LoadImage

    try:
        reader = _reader(suffix)
        # the reader given to the call too: LoadImage then reads with it directly, and its error reaches us
        # (a reader given only to the constructor is tried, and its error hidden behind "no suitable reader")
        img = LoadImage(image_only=True, reader=reader, dtype=np.float32)(str(p), reader=reader)
    except MedicalDataError:
        raise
    except Exception as err:  # the readers raise many types for damaged files; all mean "this file"
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise MedicalDataError(f"{p}: cannot be read as an image ({reason[:200]})") from None
    arr = np.asarray(img, dtype=np.float32)
    meta = getattr(img, "meta", {}) or {}
    spacing = None
    if suffix in NIFTI_SUFFIXES:
        arr = np.squeeze(arr)
        if arr.ndim == 2:
            arr = arr.T
        pix = meta.get("pixdim")
        if pix is not None and len(pix) > 2 and float(pix[1]) > 0 and float(pix[2]) > 0:
            spacing = (float(pix[2]), float(pix[1]))
    elif suffix in META_SUFFIXES:
        sp = meta.get("spacing")
        if sp is not None:
            spacing = (float(sp[0]), float(sp[1]))
    if arr.ndim == 3 and suffix in PIL_SUFFIXES and arr.shape[-1] in (3, 4):
        arr = arr[..., :3].mean(axis=-1)
    arr = np.squeeze(arr)
    if arr.ndim != 2:
        raise MedicalDataError(f"{p}: expected a 2D image, got an array of shape {tuple(np.shape(img))}")
    if not np.isfinite(arr).all():
        raise MedicalDataError(f"{p}: the image holds NaN or infinite values")
    return arr, spacing


def load_image(path: str | os.PathLike) -> tuple[np.ndarray, tuple[float, float] | None]:
    """A grey image (H, W) float32 and its pixel spacing in mm (or None): :func:`load_array` of an image."""
    arr, spacing = load_array(path)
    if arr.size == 0:
        raise MedicalDataError(f"{path}: empty image")
    return arr, spacing


def load_mask(path: str | os.PathLike, fill: bool = True, label: int | None = None) -> np.ndarray:
    """A binary mask (H, W) bool from a label image.

    Args:
        fill: fill closed outlines (HC18 draws the head's ellipse as an outline; a filled mask stays as it is).
        label: keep only this label value (CAMUS: 1 = LV endocardium); None: every non-zero pixel.

    Raises :class:`MedicalDataError` naming the file when the mask is empty."""
    arr, _ = load_array(path)
    m = (arr == label) if label is not None else (arr > 0)
    if fill:
        from scipy.ndimage import binary_fill_holes

        m = binary_fill_holes(m)
    if not m.any():
        what = f"label {label}" if label is not None else "foreground"
        raise MedicalDataError(f"{path}: empty annotation (no {what} pixel)")
    return m
