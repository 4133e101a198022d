"""A MONAI image reader for MetaImage files (``.mhd`` header + ``.raw`` data, or ``.mha`` with the data inline), the
format CAMUS ships; plain Python, so no ITK is needed.

The header is ``Key = Value`` lines (``NDims``, ``DimSize`` (x first), ``ElementType``, ``ElementSpacing``,
``ElementDataFile``, ``BinaryDataByteOrderMSB``, ``CompressedData``). The data are stored with x varying fastest,
so a C-order array of shape (z, y, x) is read directly: rows are y, columns x, as displayed.
"""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from morphogen.medical.errors import MedicalDataError

ELEMENT_TYPES = {"MET_UCHAR": "u1", "MET_CHAR": "i1", "MET_USHORT": "u2", "MET_SHORT": "i2", "MET_UINT": "u4",
                 "MET_INT": "i4", "MET_ULONG": "u8", "MET_LONG": "i8", "MET_FLOAT": "f4", "MET_DOUBLE": "f8"}


def read_header(path: str | Path) -> tuple[dict[str, str], int]:
    """(header key -> value, byte offset of the inline data for .mha / of the end of the header)."""
    p = Path(path)
    raw = p.read_bytes()
    header: dict[str, str] = {}
    pos = 0
    while pos < len(raw):
        end = raw.find(b"\n", pos)
        end = len(raw) if end < 0 else end
        line = raw[pos:end].decode("latin-1").strip()
        pos = end + 1
        if not line:
            continue
        if "=" not in line:
            raise MedicalDataError(f"{p}: not a MetaImage header (line {line[:60]!r} has no '=')")
        key, value = (s.strip() for s in line.split("=", 1))
        header[key] = value
        if key == "ElementDataFile":
            break
    return header, pos


def read_metaimage(path: str | Path) -> tuple[np.ndarray, tuple[float, ...]]:
    """(array (y, x) or (z, y, x), spacing (row, column[, slice]) in the header's units, mm for CAMUS)."""
    p = Path(path)
    header, offset = read_header(p)
    for key in ("DimSize", "ElementType", "ElementDataFile"):
        if key not in header:
            raise MedicalDataError(f"{p}: MetaImage header lacks '{key}'")
    try:
        dims = [int(v) for v in header["DimSize"].split()]
    except ValueError:
        raise MedicalDataError(f"{p}: bad DimSize {header['DimSize']!r}") from None
    etype = header["ElementType"]
    if etype not in ELEMENT_TYPES:
        raise MedicalDataError(f"{p}: unknown ElementType {etype!r}")
    channels = int(header.get("ElementNumberOfChannels", "1"))
    if channels != 1:
        raise MedicalDataError(f"{p}: {channels}-channel MetaImage; a grey image or label map is expected")
    msb = header.get("BinaryDataByteOrderMSB", header.get("ElementByteOrderMSB", "False")).lower() == "true"
    dtype = np.dtype(ELEMENT_TYPES[etype]).newbyteorder(">" if msb else "<")
    source = header["ElementDataFile"]
    data = p.read_bytes()[offset:] if source == "LOCAL" else None
    if data is None:
        raw_path = p.parent / source
        if not raw_path.is_file():
            raise MedicalDataError(f"{p}: its data file {raw_path} does not exist")
        data = raw_path.read_bytes()
    if header.get("CompressedData", "False").lower() == "true":
        try:
            data = zlib.decompress(data)
        except zlib.error as err:
            raise MedicalDataError(f"{p}: compressed data cannot be inflated ({err})") from None
    count = int(np.prod(dims))
    need = count * dtype.itemsize
    if len(data) < need:
        raise MedicalDataError(f"{p}: data hold {len(data)} bytes, the header's DimSize {dims} x {etype} needs {need}")
    arr = np.frombuffer(data[:need], dtype=dtype).reshape(tuple(reversed(dims))).astype(dtype.newbyteorder("="))
    sp = header.get("ElementSpacing", header.get("ElementSize"))
    spacing = tuple(float(v) for v in sp.split()) if sp else tuple(1.0 for _ in dims)
    return arr, tuple(reversed(spacing))


def write_metaimage(path: str | Path, array: np.ndarray, spacing: tuple[float, ...] | None = None) -> Path:
    """Write ``array`` (y, x) or (z, y, x) as ``path`` (.mhd) + a .raw beside it (for tests and exports)."""
    p = Path(path)
    arr = np.ascontiguousarray(array)
    rev = {v: k for k, v in ELEMENT_TYPES.items()}
    code = rev.get(arr.dtype.newbyteorder("=").str[1:])
    if code is None:
        raise ValueError(f"no MetaImage element type for {arr.dtype}")
    dims = list(reversed(arr.shape))
    sp = list(reversed(spacing)) if spacing is not None else [1.0] * len(dims)
    raw = p.with_suffix(".raw")
    raw.write_bytes(arr.astype(arr.dtype.newbyteorder("<")).tobytes())
    lines = [f"NDims = {len(dims)}", f"DimSize = {' '.join(map(str, dims))}", f"ElementType = {code}",
             f"ElementSpacing = {' '.join(repr(float(s)) for s in sp)}", "BinaryDataByteOrderMSB = False",
             f"ElementDataFile = {raw.name}"]
    p.write_text("\n".join(lines) + "\n")
    return p


_READER_CLASS = None


def monai_reader():
    """A MONAI ``ImageReader`` for .mhd / .mha files (the class is made on first use, so that reading and writing
    MetaImage files above needs no MONAI import)."""
    global _READER_CLASS
    if _READER_CLASS is None:
        from monai.data import ImageReader

        class MetaImageReader(ImageReader):
            def verify_suffix(self, filename) -> bool:
                names = filename if isinstance(filename, (list, tuple)) else [filename]
                return all(str(n).lower().endswith((".mhd", ".mha")) for n in names)

            def read(self, data, **kwargs):
                names = data if isinstance(data, (list, tuple)) else [data]
                return [(Path(n), *read_metaimage(n)) for n in names]

            def get_data(self, img):
                items = img if isinstance(img, list) else [img]
                path, arr, spacing = items[0]
                meta = {"filename_or_obj": str(path), "spacing": np.asarray(spacing[-2:]),
                        "original_channel_dim": float("nan"), "spatial_shape": np.asarray(arr.shape)}
                return arr, meta

        _READER_CLASS = MetaImageReader
    return _READER_CLASS()
