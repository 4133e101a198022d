"""Worker for the distributed and resume tests (run as a subprocess; Lightning's DDP re-launches this file).

  train  OUT EPOCHS [--kill-at EPOCH] [--devices N --strategy ddp]   train the 2-D mixture model
  sample OUT WORLD                                                    sharded sampling over WORLD gloo ranks
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import torch

torch.set_num_threads(1)


def mixture():
    from morphogen.oracles.gaussian_mixture import GaussianMixture

    ang = torch.arange(4) * math.pi / 2
    return GaussianMixture(torch.ones(4), torch.stack([2 * torch.cos(ang), 2 * torch.sin(ang)], 1), torch.tensor([0.3]))


def train(args) -> None:
    import lightning as L
    from torch.utils.data import DataLoader

    from morphogen.nn.mlp import MLPDenoiser
    from morphogen.processes.gaussian import GaussianProcess
    from morphogen.processes.joint import JointProcess
    from morphogen.schedules.gaussian import VPLinear
    from morphogen.train.checkpoint import save_model
    from morphogen.train.data import EpochShuffleSampler, TensorFieldDataset
    from morphogen.train.module import GenerativeModule
    from morphogen.train.trainer import fit

    L.seed_everything(0, verbose=False)
    x = mixture().sample(512, torch.Generator().manual_seed(0))
    ds = TensorFieldDataset({"x": x})
    sampler = EpochShuffleSampler(len(ds), seed=3) if args.devices == 1 else None
    dl = DataLoader(ds, batch_size=64, sampler=sampler, shuffle=False)
    module = GenerativeModule(JointProcess({"x": GaussianProcess(VPLinear())}),
                              MLPDenoiser("x", 2, "noise", hidden=32, layers=2), lr=1e-3, ema_decay=0.9)

    callbacks = []
    if args.kill_at is not None:
        class Kill(L.Callback):
            def on_train_epoch_start(self, trainer, pl_module):
                if trainer.current_epoch == args.kill_at:
                    os._exit(17)  # a hard kill: no clean-up, no final checkpoint
        callbacks.append(Kill())
    trainer = fit(module, dl, out_dir=args.out, resume=True, max_epochs=args.epochs, devices=args.devices,
                  strategy=args.strategy, accelerator="cpu", progress=False, logger="none", callbacks=callbacks)
    save_model(Path(args.out) / f"rank{trainer.global_rank}.safetensors", module.state_dict(), {"step": trainer.global_step})


def _sample_rank(rank: int, world: int, out: str, port: int) -> None:
    import torch.distributed as dist

    from morphogen.oracles.gaussian_mixture import GaussianMixtureOracle
    from morphogen.processes.gaussian import GaussianProcess
    from morphogen.processes.joint import JointProcess
    from morphogen.samplers.registry import get_sampler
    from morphogen.schedules.gaussian import VPLinear
    from morphogen.train.sharding import sample_sharded

    if world > 1:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    proc = GaussianProcess(VPLinear())
    joint = JointProcess({"x": proc})
    oracle = GaussianMixtureOracle("x", mixture(), proc)
    sampler = get_sampler("dpm_solver", steps=8)

    def draw(n, g):
        return sampler.sample(joint, oracle, {"x": (n, 2)}, generator=g).fields

    res = sample_sharded(draw, num_samples=203, batch_size=16, seed=5)
    res["rank_batches"] = torch.tensor([rank])
    torch.save(res, Path(out) / f"samples_world{world}_rank{rank}.pt")
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


def sample(args) -> None:
    import torch.multiprocessing as mp

    Path(args.out).mkdir(parents=True, exist_ok=True)
    if args.world == 1:
        _sample_rank(0, 1, args.out, 0)
    else:
        mp.spawn(_sample_rank, args=(args.world, args.out, args.port), nprocs=args.world, join=True)


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("out")
    t.add_argument("epochs", type=int)
    t.add_argument("--kill-at", type=int, default=None)
    t.add_argument("--devices", type=int, default=1)
    t.add_argument("--strategy", default="auto")
    s = sub.add_parser("sample")
    s.add_argument("out")
    s.add_argument("world", type=int)
    s.add_argument("--port", type=int, default=29533)
    args = p.parse_args()
    train(args) if args.cmd == "train" else sample(args)


if __name__ == "__main__":
    main()
    sys.exit(0)
