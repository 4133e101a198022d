"""From a record's image (any size, any value range) to the network's input, and from the network's output back to
the image's size.

- image: min-max scaled to [0, 1], resized to the model's (H, W) by area averaging (MONAI ``Resize``), then (in the
  dataset and at segmentation time) z-scored per image (MONAI ``NormalizeIntensity``);
- mask: resized by area averaging and thresholded at 0.5 (a binary mask at the model's size);
- back: the predicted foreground probability is resized bilinearly to the image's size and thresholded there.

A prepared set (the arrays of many records at the model's size) is cached under ``$MORPHOGEN_CACHE/medical``,
keyed by the files' fingerprints and the size.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from morphogen.medical.data.records import SegmentationRecord

PREPARED_VERSION = 1


def plain(x) -> Tensor:
    """A MONAI ``MetaTensor`` (what its transforms return) as a plain tensor (saved and loaded as weights only)."""
    x = x.as_tensor() if hasattr(x, "as_tensor") else torch.as_tensor(x)
    return x.detach().clone() if type(x) is not torch.Tensor else x


def scale01(image: np.ndarray) -> np.ndarray:
    """Min-max scale to [0, 1] (a constant image becomes zeros)."""
    lo, hi = float(image.min()), float(image.max())
    return np.zeros_like(image, dtype=np.float32) if hi <= lo else ((image - lo) / (hi - lo)).astype(np.float32)


def resize_image(image: np.ndarray, size: Sequence[int]) -> Tensor:
    """(H0, W0) -> (1, H, W) float32 in [0, 1] (min-max scaled, area-resized)."""
    from monai.transforms import Resize

    x = torch.from_numpy(scale01(np.asarray(image, dtype=np.float32)))[None]
    return plain(Resize(tuple(int(s) for s in size), mode="area")(x)).float()


def resize_mask(mask: np.ndarray, size: Sequence[int]) -> Tensor:
    """(H0, W0) bool -> (1, H, W) bool (area-resized, thresholded at 0.5)."""
    from monai.transforms import Resize

    x = torch.from_numpy(np.asarray(mask, dtype=np.float32))[None]
    return plain(Resize(tuple(int(s) for s in size), mode="area")(x)) >= 0.5


def normalize(image: Tensor) -> Tensor:
    """Per-image z-score of (..., 1, H, W) images (MONAI ``NormalizeIntensity``, channel-wise)."""
    from monai.transforms import NormalizeIntensity

    norm = NormalizeIntensity(channel_wise=True)
    if image.dim() == 3:
        return plain(norm(image)).float()
    return torch.stack([plain(norm(x)).float() for x in image])


def to_original_size(probability: Tensor, size: Sequence[int]) -> Tensor:
    """(..., H, W) probabilities at the model's size -> (..., H0, W0) at the image's size (bilinear)."""
    lead = probability.shape[:-2]
    x = probability.reshape(-1, 1, *probability.shape[-2:]).float()
    y = F.interpolate(x, size=tuple(int(s) for s in size), mode="bilinear", align_corners=False)
    return y.reshape(*lead, *y.shape[-2:])


@dataclass
class PreparedSet:
    """Records at the model's size: images (N, 1, H, W) float16 in [0, 1], masks (N, 1, H, W) bool, ids."""

    images: Tensor
    masks: Tensor
    ids: list[str]

    def __len__(self) -> int:
        return len(self.ids)


def _key(records: Sequence[SegmentationRecord], size: Sequence[int]) -> str:
    from morphogen.train.entry import fingerprint

    return fingerprint({"v": PREPARED_VERSION, "size": list(size), "files": [r.cache_key() for r in records]})


def prepare(records: Sequence[SegmentationRecord], size: Sequence[int], cache: bool = True,
            progress: bool = False) -> PreparedSet:
    """Load, check and resize every record (labelled records only); cached when ``cache`` and caching is on."""
    from morphogen.medical.errors import MedicalDataError
    from morphogen.utils.cache import cache_dir

    unlabelled = [r.id for r in records if not r.labelled]
    if unlabelled:
        raise MedicalDataError(f"{len(unlabelled)} record(s) without a mask cannot be prepared for training, e.g. "
                               f"{unlabelled[:3]}")
    key = _key(records, size)
    root = cache_dir() if cache else None
    path = root / "medical" / f"prepared-{key}.pt" if root is not None else None
    if path is not None and path.is_file():
        data = torch.load(path, weights_only=True)
        return PreparedSet(data["images"], data["masks"], json.loads(data["ids"].numpy().tobytes().decode()))
    imgs, masks = [], []
    it = records
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(records, desc="reading images", leave=False)
    for r in it:
        s = r.load()
        imgs.append(resize_image(s.image, size).half())
        masks.append(resize_mask(s.mask, size))
    out = PreparedSet(torch.stack(imgs), torch.stack(masks), [r.id for r in records])
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        ids = torch.frombuffer(bytearray(json.dumps(out.ids).encode()), dtype=torch.uint8)
        tmp = path.with_suffix(".tmp")
        torch.save({"images": out.images, "masks": out.masks, "ids": ids}, tmp)
        tmp.replace(path)
    return out
