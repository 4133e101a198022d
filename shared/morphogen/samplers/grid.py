"""Time grids for samplers: steps + 1 increasing times from 0 (prior) to the processes' end time."""
from __future__ import annotations

import torch
from torch import Tensor

GRIDS = ("uniform", "quadratic", "logsnr")


def time_grid(steps: int, joint, kind: str = "uniform", device=None) -> Tensor:
    """(steps + 1,) float64 times in [0, t_end], t_end the smallest ``t_end`` of the joint's processes.

    ``uniform``: equal steps. ``quadratic``: t_i = t_end (1 - (1 - i/N)^2), finer near the data.
    ``logsnr``: equal steps in log(alpha/sigma) of the (single) Gaussian schedule, found by bisection.
    """
    if kind not in GRIDS:
        raise ValueError(f"unknown time grid '{kind}'; choose one of {GRIDS}")
    t_end = min(p.t_end for p in joint.processes.values())
    u = torch.linspace(0.0, 1.0, steps + 1, dtype=torch.float64)
    if kind == "uniform":
        g = u * t_end
    elif kind == "quadratic":
        g = t_end * (1.0 - (1.0 - u) ** 2)
    else:
        schedules = {id(p.schedule): p.schedule for p in joint.processes.values() if hasattr(p, "schedule")}
        if len(schedules) != 1:
            raise ValueError("the 'logsnr' grid needs every field to share one Gaussian schedule")
        sched = next(iter(schedules.values()))
        t_lo = torch.tensor(1e-6 if float(sched.alpha(torch.tensor(0.0, dtype=torch.float64))) == 0.0 else 0.0,
                            dtype=torch.float64)
        lam0 = sched.log_snr(t_lo)
        # where sigma(t_end) = 0 (flow matching) log-SNR is infinite: space the grid up to 1 - 1e-4 instead
        t_hi = t_end if float(sched.sigma(torch.tensor(t_end, dtype=torch.float64))) > 0 else min(t_end, 1.0 - 1e-4)
        lam1 = sched.log_snr(torch.tensor(t_hi, dtype=torch.float64))
        targets = lam0 + u * (lam1 - lam0)
        lo = torch.full_like(targets, float(t_lo))
        hi = torch.full_like(targets, t_hi)
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            below = sched.log_snr(mid) < targets
            lo = torch.where(below, mid, lo)
            hi = torch.where(below, hi, mid)
        g = 0.5 * (lo + hi)
        g[0], g[-1] = 0.0, t_end
    return g.to(device) if device is not None else g
