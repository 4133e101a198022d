"""A trained Echo-DND model as one object: the core bundle plus the image size it works at and how its chains
are fused.

Fusion of the chains (stated, tested): every sampler step evaluates the network once on *both* chains' states
(the Gaussian chain's real-valued mask and the Bernoulli chain's binary mask are two input channels of one U-Net),
and each chain takes its own exact reverse step from its own head. The segmentation is the mean of the two chains'
final foreground probabilities: (x1_G + 1) / 2 for the Gaussian chain (its last x1 estimate) and the Bernoulli
chain's last predicted P(mask = 1). A model with one chain (the ablations) returns that chain's probability.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

import torch
from torch import Tensor

from morphogen.bundle.model import ModelBundle
from morphogen.processes.bernoulli import BernoulliDiffusion
from morphogen.processes.gaussian import GaussianProcess

POSTPROCESS = ("none", "largest")


@dataclass
class Segmentation:
    """Foreground probabilities at the model's size.

    Attributes:
        members: (B, N, H, W) the fused probability of each of N ensemble members (independent samples).
        chains: chain name -> (B, N, H, W) that chain's own probability.
        nfe: network evaluations per member (the sampler's steps); per image it is ``nfe * N``.
    """

    members: Tensor
    chains: dict[str, Tensor]
    nfe: int

    @property
    def probability(self) -> Tensor:
        """(B, H, W) the mean of the members' probabilities."""
        return self.members.mean(dim=1)

    @property
    def ensemble(self) -> int:
        return int(self.members.shape[1])


@dataclass(kw_only=True, eq=False)
class SegmentationModel(ModelBundle):
    """Echo-DND: the core bundle (joint process of the chains ``{"gauss": GaussianProcess, "bern":
    BernoulliDiffusion}`` or one of them, the :class:`~morphogen.medical.models.unet.DualNoiseUNet` denoiser, the
    default sampler) plus:

    Attributes:
        image_size: (H, W) the network works at; images are resized to it and masks back to the image's size.
        objective_args: arguments of :class:`~morphogen.medical.models.objective.DualNoiseObjective`.
        postprocess: "largest" keeps the largest connected component (holes filled) of the thresholded mask at
            the image's size; "none" keeps the thresholded mask as it is.
        threshold: foreground threshold of the fused probability.
        target: what the mask marks (e.g. "fetal head", "LV endocardium").
    """

    domain: ClassVar[str] = "medical"

    image_size: tuple[int, int] = (160, 240)
    objective_args: dict[str, Any] = field(default_factory=dict)
    postprocess: str = "largest"
    threshold: float = 0.5
    target: str = "foreground"

    def __post_init__(self):
        super().__post_init__()
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))
        if self.postprocess not in POSTPROCESS:
            raise ValueError(f"postprocess must be one of {POSTPROCESS}, got '{self.postprocess}'")
        for name, p in self.process.items():
            if not isinstance(p, (GaussianProcess, BernoulliDiffusion)):
                raise TypeError(f"field '{name}': a segmentation chain is Gaussian or Bernoulli, got {type(p).__name__}")

    # -- the domain's own data ------------------------------------------------------------------------------------
    def domain_config(self) -> dict[str, Any]:
        return {"image_size": list(self.image_size), "objective_args": dict(self.objective_args),
                "postprocess": self.postprocess, "threshold": self.threshold, "target": self.target}

    @classmethod
    def parse_domain_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        return {"image_size": tuple(config.get("image_size", (160, 240))),
                "objective_args": dict(config.get("objective_args", {})),
                "postprocess": config.get("postprocess", "largest"), "threshold": float(config.get("threshold", 0.5)),
                "target": config.get("target", "foreground")}

    @property
    def chains(self) -> dict[str, str]:
        """field -> "gaussian" | "bernoulli"."""
        return {k: ("bernoulli" if isinstance(p, BernoulliDiffusion) else "gaussian") for k, p in self.process.items()}

    def objective(self):
        from morphogen.medical.models.objective import DualNoiseObjective

        return DualNoiseObjective(**self.objective_args)

    # -- segmentation ----------------------------------------------------------------------------------------------
    def chain_probability(self, name: str, value: Tensor) -> Tensor:
        """A chain's final value as a foreground probability (Gaussian: (x + 1) / 2 clipped; Bernoulli: as is)."""
        if self.chains[name] == "gaussian":
            return ((value + 1.0) / 2.0).clamp(0.0, 1.0)
        return value.clamp(0.0, 1.0)

    @torch.no_grad()
    def segment(self, images: Tensor, *, steps: int | None = None, sampler: str | None = None, ensemble: int = 1,
                generator: torch.Generator | None = None, progress: bool = False) -> Segmentation:
        """Sample masks for z-scored images (B, C, H, W) at :attr:`image_size`: ``ensemble`` independent members
        per image, batched; ``steps`` / ``sampler`` refine the default sampler (:meth:`ModelBundle.make_sampler`)."""
        if int(ensemble) < 1:
            raise ValueError(f"ensemble must be >= 1, got {ensemble}")
        h, w = self.image_size
        if images.dim() != 4 or tuple(images.shape[-2:]) != (h, w):
            raise ValueError(f"images must be (B, C, {h}, {w}), got {tuple(images.shape)}")
        n = int(ensemble)
        b = images.shape[0]
        dev = self.device
        x = images.to(dev).repeat_interleave(n, dim=0)
        cond = self.denoiser.encode(x) if hasattr(self.denoiser, "encode") else x
        shapes = {k: (b * n, 1, h, w) for k in self.process.fields}
        res = self.sample(shapes, sampler=sampler, steps=steps, generator=generator, condition=cond,
                          progress=progress, dtype=x.dtype)
        chains = {k: self.chain_probability(k, v).reshape(b, n, h, w) for k, v in res.fields.items()}
        members = torch.stack(list(chains.values())).mean(0)
        return Segmentation(members.cpu(), {k: v.cpu() for k, v in chains.items()}, res.nfe)
