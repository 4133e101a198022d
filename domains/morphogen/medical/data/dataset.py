"""The training dataset: prepared images and masks -> the fields of the joint process, with MONAI augmentation.

Item: ``{"fields": {name: (1, H, W)}, "condition": (1, H, W)}`` where a ``gaussian`` field holds the mask as
2 m - 1 in {-1, 1} and a ``bernoulli`` field the mask m in {0, 1}; the condition is the z-scored image.

Augmentation (training only, MONAI dictionary transforms applied to image and mask together): horizontal flip,
an affine map (rotation +-15 degrees, scale +-15 %, shift +-8 % of the size; bilinear for the image, nearest for
the mask), gamma contrast 0.7-1.5 and Gaussian intensity noise, then the per-image z-score.
"""
from __future__ import annotations

import math
from typing import Mapping

from torch import Tensor
from torch.utils.data import Dataset

from morphogen.medical.data.preprocess import PreparedSet, plain

AUGMENT_DEFAULTS = {"flip": 0.5, "affine": 0.8, "rotate_deg": 15.0, "scale": 0.15, "shift": 0.08, "gamma": 0.5,
                    "noise": 0.2}


def mask_fields(mask: Tensor, fields: Mapping[str, str]) -> dict[str, Tensor]:
    """A binary mask (..., 1, H, W) as the value of each field: ``gaussian`` 2 m - 1, ``bernoulli`` m (float)."""
    m = mask.float()
    return {k: (2.0 * m - 1.0 if kind == "gaussian" else m) for k, kind in fields.items()}


def _transforms(size, augment: Mapping[str, float], seed: int):
    from monai.transforms import (Compose, NormalizeIntensityd, RandAdjustContrastd, RandAffined, RandFlipd,
                                  RandGaussianNoised)

    a = {**AUGMENT_DEFAULTS, **dict(augment)}
    h, w = size
    ts = [
        RandFlipd(keys=["image", "mask"], prob=a["flip"], spatial_axis=1),
        RandAffined(keys=["image", "mask"], prob=a["affine"], rotate_range=math.radians(a["rotate_deg"]),
                    scale_range=(a["scale"], a["scale"]), translate_range=(a["shift"] * h, a["shift"] * w),
                    mode=("bilinear", "nearest"), padding_mode="zeros"),
        RandAdjustContrastd(keys=["image"], prob=a["gamma"], gamma=(0.7, 1.5)),
        RandGaussianNoised(keys=["image"], prob=a["noise"], std=0.03),
        NormalizeIntensityd(keys=["image"], channel_wise=True),
    ]
    comp = Compose(ts)
    comp.set_random_state(seed=seed)
    return comp


class SegmentationDataset(Dataset):
    """Prepared records as training items for the fields ``fields`` (name -> "gaussian" | "bernoulli").

    Args:
        data: the prepared set.
        fields: the joint process's fields and their kinds.
        augment: None for no augmentation, else overrides of :data:`AUGMENT_DEFAULTS` (probabilities and ranges).
        seed: seed of the augmentation's random state.
    """

    def __init__(self, data: PreparedSet, fields: Mapping[str, str], augment: Mapping[str, float] | None = None,
                 seed: int = 0):
        self.data, self.fields = data, dict(fields)
        self.augment = None if augment is None else dict(augment)
        size = tuple(data.images.shape[-2:])
        self._aug = _transforms(size, self.augment, seed) if self.augment is not None else None

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> dict:
        image = self.data.images[i].float()
        mask = self.data.masks[i].float()
        if self._aug is not None:
            out = self._aug({"image": image, "mask": mask})
            image, mask = plain(out["image"]).float(), plain(out["mask"]) > 0.5
        else:
            from morphogen.medical.data.preprocess import normalize

            image, mask = normalize(image), mask > 0.5
        return {"fields": mask_fields(mask, self.fields), "condition": image.contiguous()}
