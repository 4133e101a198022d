"""The training objective of a joint process: a weighted sum of each field's own loss.

Each process defines the loss of its field (denoising score matching or noise / x1 / velocity MSE for Gaussian
processes, flow-matching MSE, masked cross-entropy, the Bayesian-flow continuous-time loss); this objective sums
them with fixed weights and reports each term.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import torch
from torch import Tensor

from morphogen.processes.base import Corrupted, ProcessError
from morphogen.processes.joint import JointProcess
from morphogen.utils.config import Configurable


@dataclass
class ObjectiveOutput:
    """loss: scalar to minimise; per_field: field -> scalar (batch mean); per_sample: (B,) weighted total."""

    loss: Tensor
    per_field: dict[str, Tensor]
    per_sample: Tensor


class WeightedObjective(Configurable):
    """sum_f weight_f * mean_b loss_f(b).

    Args:
        weights: field -> weight (fields not listed weigh 1).
    """

    def __init__(self, weights: Mapping[str, float] | None = None):
        self.weights = dict(weights or {})

    def __call__(
        self,
        process: JointProcess,
        predictions: Mapping[str, Tensor],
        kinds: Mapping[str, str],
        corrupted: Mapping[str, Corrupted],
    ) -> ObjectiveOutput:
        process.check_kinds(kinds)
        per_field, per_sample = {}, None
        for name, p in process.items():
            if name not in predictions:
                raise ProcessError(f"the denoiser returned no prediction for field '{name}'")
            pred = predictions[name]
            p.check_prediction(name, pred, tuple(corrupted[name].x1.shape))
            if not torch.isfinite(pred).all():
                raise ProcessError(f"field '{name}': the denoiser's prediction contains NaN or inf")
            lf = p.loss(pred, kinds[name], corrupted[name]) * float(self.weights.get(name, 1.0))
            per_field[name] = lf.mean()
            per_sample = lf if per_sample is None else per_sample + lf
        assert per_sample is not None
        return ObjectiveOutput(loss=per_sample.mean(), per_field=per_field, per_sample=per_sample)
