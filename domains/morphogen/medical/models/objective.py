"""Echo-DND's training objective: each chain's own loss, plus the spatial-coherence calibration (SCC) terms.

For a batch with clean mask y (B, 1, H, W) in {0, 1}:

- the chains: the Gaussian chain's x1 MSE and the Bernoulli chain's BCE (the core processes' own losses);
- the calibration head c (logits, key ``coherence``): BCE(c, y) + soft Dice(sigmoid(c), y);
- spatial coherence, on the calibration head's probability q = sigmoid(c) and on the fused chain estimate
  p = mean over chains of P_chain(y = 1) (Gaussian: (x1_hat + 1) / 2; Bernoulli: sigmoid(logit)):
  ``mean over 4-neighbour pairs (i, j) of (|p_i - p_j| - |y_i - y_j|)^2`` -- speckle (an edge where the truth has
  none) and blurred boundaries (no edge where the truth has one) cost, a smooth correct mask costs nothing.

Where the paper is vague this is our reading of it (stated in the domain README): the head and the coherence term
are what we call "spatial coherence calibration"; the weights are constructor arguments.
"""
from __future__ import annotations

from typing import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

from morphogen.medical.models.unet import COHERENCE
from morphogen.objectives.weighted import ObjectiveOutput, WeightedObjective
from morphogen.processes.bernoulli import BernoulliDiffusion
from morphogen.processes.joint import JointProcess


def coherence_loss(p: Tensor, y: Tensor) -> Tensor:
    """(B,) mean over horizontal and vertical neighbour pairs of (|dp| - |dy|)^2 for p, y (B, 1, H, W)."""
    dph, dyh = (p[..., :, 1:] - p[..., :, :-1]).abs(), (y[..., :, 1:] - y[..., :, :-1]).abs()
    dpv, dyv = (p[..., 1:, :] - p[..., :-1, :]).abs(), (y[..., 1:, :] - y[..., :-1, :]).abs()
    b = p.shape[0]
    return 0.5 * (((dph - dyh) ** 2).reshape(b, -1).mean(1) + ((dpv - dyv) ** 2).reshape(b, -1).mean(1))


def soft_dice_loss(p: Tensor, y: Tensor, eps: float = 1.0) -> Tensor:
    """(B,) 1 - soft Dice of probabilities p against y (B, 1, H, W), with smoothing ``eps`` pixels."""
    b = p.shape[0]
    inter = (p * y).reshape(b, -1).sum(1)
    return 1.0 - (2.0 * inter + eps) / (p.reshape(b, -1).sum(1) + y.reshape(b, -1).sum(1) + eps)


def chain_probability(process: JointProcess, name: str, prediction: Tensor) -> Tensor:
    """P(y = 1) implied by one chain's prediction: (x1 + 1) / 2 clipped for a Gaussian chain, sigmoid(logits) for a
    Bernoulli chain."""
    if isinstance(process[name], BernoulliDiffusion):
        return torch.sigmoid(prediction)
    return ((prediction + 1.0) / 2.0).clamp(0.0, 1.0)


def clean_mask(process: JointProcess, corrupted) -> Tensor:
    """The clean mask y in {0, 1} from any chain's corrupted record."""
    name = process.fields[0]
    x1 = corrupted[name].x1
    return x1 if isinstance(process[name], BernoulliDiffusion) else (x1 + 1.0) / 2.0


class DualNoiseObjective(WeightedObjective):
    """The chains' losses + ``calibration_weight`` (BCE + soft Dice of the calibration head) +
    ``coherence_weight`` (the coherence term on the head and on the fused chain estimate).

    Args:
        weights: per-chain weights (default 1).
        calibration_weight, coherence_weight: weights of the two SCC terms (0 turns a term off).
    """

    def __init__(self, weights: Mapping[str, float] | None = None, calibration_weight: float = 1.0,
                 coherence_weight: float = 1.0):
        super().__init__(weights)
        self.calibration_weight, self.coherence_weight = float(calibration_weight), float(coherence_weight)

    def __call__(self, process, predictions, kinds, corrupted) -> ObjectiveOutput:
        out = super().__call__(process, predictions, kinds, corrupted)
        y = clean_mask(process, corrupted).float()
        per_sample, per_field = out.per_sample, dict(out.per_field)
        fused = torch.stack([chain_probability(process, k, predictions[k]) for k in process.fields]).mean(0)
        coh = coherence_loss(fused, y)
        if COHERENCE in predictions:
            c = predictions[COHERENCE]
            q = torch.sigmoid(c)
            cal = F.binary_cross_entropy_with_logits(c, y, reduction="none").flatten(1).mean(1) + soft_dice_loss(q, y)
            coh = coh + coherence_loss(q, y)
            per_field["calibration"] = cal.mean()
            per_sample = per_sample + self.calibration_weight * cal
        per_field["coherence"] = coh.mean()
        per_sample = per_sample + self.coherence_weight * coh
        return ObjectiveOutput(loss=per_sample.mean(), per_field=per_field, per_sample=per_sample)
