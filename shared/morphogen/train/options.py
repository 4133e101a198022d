"""How one training run is executed (hardware, time, overrides): the shared options of every ``train`` command.

The preset says *what* is trained (:class:`morphogen.train.config.TrainConfig`); these say *where and how long*,
and which preset values one call overrides.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainOptions:
    """Attributes:
        accelerator: Lightning accelerator (``auto``, ``cpu``, ``gpu``, ``cuda``, ...).
        devices: ``auto``, a count (``2``) or device ids (``0,1``).
        strategy: Lightning strategy (``auto``, ``ddp``, ...); num_nodes: machines for multi-node DDP.
        precision: ``32``, ``bf16`` (bf16-mixed), ``16`` (16-mixed) or any Lightning precision.
        batch_size, max_steps, lr, seed: override the preset's ``train:`` values when given.
        max_minutes: stop after this much training time of this call (a resumed run gets the full budget again);
            the EMA model is exported as usual.
        init_from: a model (file or shipped name) of the same configuration whose weights start the run.
        num_workers: DataLoader worker processes (0: batches are built in the training process).
        progress: show Lightning's progress bar.
    """

    accelerator: str = "auto"
    devices: str = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32"
    batch_size: int | None = None
    max_steps: int | None = None
    max_minutes: float | None = None
    lr: float | None = None
    init_from: str | None = None
    seed: int | None = None
    num_workers: int = 0
    progress: bool = True

    def __post_init__(self):
        for name in ("batch_size", "max_steps"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {v}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"--max-minutes must be positive, got {self.max_minutes}")
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"--lr must be positive, got {self.lr}")
        if self.num_workers < 0:
            raise ValueError(f"--num-workers must be >= 0, got {self.num_workers}")
        if self.num_nodes < 1:
            raise ValueError(f"--num-nodes must be >= 1, got {self.num_nodes}")

    def lightning_devices(self) -> int | str | list[int]:
        """``"2"`` -> 2, ``"0,1"`` -> [0, 1], ``"auto"`` / ``"-1"`` as Lightning reads them."""
        d = str(self.devices).strip()
        if d.lstrip("-").isdigit():
            return int(d)
        if "," in d:
            return [int(p) for p in d.split(",") if p.strip()]
        return d
