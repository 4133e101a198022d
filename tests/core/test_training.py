"""Training through Lightning: learning, DDP on two CPU processes, exact resume, sharded sampling, checkpoints."""
from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from morphogen.train.checkpoint import CheckpointError, load_model, load_training_checkpoint, save_model

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).parent / "scripts" / "dist_worker.py"


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "shared"), str(ROOT / "domains"), env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"
    env.pop("LOCAL_RANK", None)
    return env


def _run(*args, check=True, timeout=300):
    r = subprocess.run([sys.executable, str(WORKER), *map(str, args)], env=_env(), capture_output=True, text=True,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"worker failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_training_beats_bound_on_mixture(tmp_path):
    import lightning as L
    from torch.utils.data import DataLoader

    from morphogen.metrics.mmd import mmd_rbf
    from morphogen.nn.mlp import MLPDenoiser
    from morphogen.oracles.gaussian_mixture import GaussianMixture
    from morphogen.processes.gaussian import FlowMatching
    from morphogen.processes.joint import JointProcess
    from morphogen.samplers.registry import get_sampler
    from morphogen.train.data import EpochShuffleSampler, TensorFieldDataset
    from morphogen.train.module import GenerativeModule
    from morphogen.train.trainer import fit

    L.seed_everything(0, verbose=False)
    ang = torch.arange(4) * math.pi / 2
    mix = GaussianMixture(torch.ones(4), torch.stack([2 * torch.cos(ang), 2 * torch.sin(ang)], 1), torch.tensor([0.3]))
    ds = TensorFieldDataset({"x": mix.sample(4096, torch.Generator().manual_seed(0))})
    dl = DataLoader(ds, batch_size=256, sampler=EpochShuffleSampler(len(ds)))
    joint = JointProcess({"x": FlowMatching()})
    module = GenerativeModule(joint, MLPDenoiser("x", 2, "velocity", hidden=64, layers=2), lr=3e-3, ema_decay=0.95)
    ref = mix.sample(1000, torch.Generator().manual_seed(1))
    before = get_sampler("heun", steps=10).sample(joint, module.sampling_denoiser, {"x": (1000, 2)},
                                                  generator=torch.Generator().manual_seed(2))
    fit(module, dl, out_dir=tmp_path, max_epochs=25, accelerator="cpu", progress=False, logger="csv")
    after = get_sampler("heun", steps=10).sample(joint, module.sampling_denoiser, {"x": (1000, 2)},
                                                 generator=torch.Generator().manual_seed(2))
    d0, d1 = mmd_rbf(before.fields["x"], ref), mmd_rbf(after.fields["x"], ref)
    # an untrained network gives about 0.5; two independent target draws of 1000 about 0.005
    assert d1 < 0.05, f"trained MMD {d1:.4f} (untrained {d0:.4f})"
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert list((tmp_path / "logs").rglob("metrics.csv")), "CSV log missing"


def test_bf16_autocast_trains_finite(tmp_path):
    from torch.utils.data import DataLoader

    from morphogen.nn.mlp import MLPDenoiser
    from morphogen.processes.gaussian import GaussianProcess
    from morphogen.processes.joint import JointProcess
    from morphogen.schedules.gaussian import VPLinear
    from morphogen.train.data import TensorFieldDataset
    from morphogen.train.module import GenerativeModule
    from morphogen.train.trainer import fit

    ds = TensorFieldDataset({"x": torch.randn(256, 2)})
    module = GenerativeModule(JointProcess({"x": GaussianProcess(VPLinear())}), MLPDenoiser("x", 2, hidden=32, layers=1))
    trainer = fit(module, DataLoader(ds, batch_size=64), out_dir=tmp_path, max_epochs=1, precision="bf16",
                  accelerator="cpu", progress=False, logger="none")
    assert trainer.precision == "bf16-mixed"
    assert all(torch.isfinite(p).all() for p in module.parameters())


@pytest.mark.slow
def test_ddp_two_processes_end_with_identical_weights(tmp_path):
    _run("train", tmp_path, 2, "--devices", 2, "--strategy", "ddp", timeout=400)
    w0, _ = load_model(tmp_path / "rank0.safetensors")
    w1, _ = load_model(tmp_path / "rank1.safetensors")
    assert w0.keys() == w1.keys()
    for k in w0:
        torch.testing.assert_close(w0[k], w1[k], rtol=0, atol=0, msg=f"rank weights differ at {k}")
    init = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert init["global_step"] > 0


@pytest.mark.slow
def test_killed_training_resumes_to_the_same_weights(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    _run("train", straight, 4)
    r = _run("train", killed, 4, "--kill-at", 2, check=False)
    assert r.returncode == 17, r.stderr[-2000:]
    assert not (killed / "rank0.safetensors").exists()
    ck = load_training_checkpoint(killed / "checkpoints" / "last.ckpt")
    assert ck["epoch"] == 1  # the checkpoint of the second epoch (0-based 1) survived the kill
    _run("train", killed, 4)
    a, _ = load_model(straight / "rank0.safetensors")
    b, _ = load_model(killed / "rank0.safetensors")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=f"resumed weights differ at {k}")


@pytest.mark.slow
def test_sharded_sampling_returns_every_sample_once(tmp_path):
    _run("sample", tmp_path, 1)
    _run("sample", tmp_path, 2, "--port", _free_port())
    single = torch.load(tmp_path / "samples_world1_rank0.pt", weights_only=True)
    r0 = torch.load(tmp_path / "samples_world2_rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "samples_world2_rank1.pt", weights_only=True)
    assert torch.equal(r0["index"], torch.arange(203))
    torch.testing.assert_close(r0["x"], r1["x"])  # every rank ends with the whole, identical result
    torch.testing.assert_close(r0["x"], single["x"])  # and it does not depend on the number of ranks
    assert r0["x"].shape == (203, 2) and torch.isfinite(r0["x"]).all()


def test_checkpoint_round_trip_and_corruption(tmp_path):
    sd = {"w": torch.randn(3, 4), "b": torch.arange(5)}
    path = save_model(tmp_path / "m.safetensors", sd, {"class": "x", "args": {"n": 3}})
    back, cfg = load_model(path)
    torch.testing.assert_close(back["w"], sd["w"])
    assert cfg == {"class": "x", "args": {"n": 3}}
    old = os.umask(0o022)
    try:  # an ordinary file's permissions, not the 0600 of the temporary file it was written to
        assert (save_model(tmp_path / "p.safetensors", sd, {}).stat().st_mode & 0o777) == 0o644
    finally:
        os.umask(old)
    data = path.read_bytes()
    (tmp_path / "trunc.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="trunc.safetensors: corrupt or truncated"):
        load_model(tmp_path / "trunc.safetensors")
    (tmp_path / "junk.ckpt").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="junk.ckpt: corrupt"):
        load_training_checkpoint(tmp_path / "junk.ckpt")
    with pytest.raises(CheckpointError, match="not found"):
        load_model(tmp_path / "missing.safetensors")


def test_training_checkpoint_refuses_pickled_objects(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"state_dict": {}, "x": Evil()}, tmp_path / "evil.ckpt")
    with pytest.raises(CheckpointError, match="evil.ckpt"):
        load_training_checkpoint(tmp_path / "evil.ckpt")


def test_max_time_counts_this_call_only(tmp_path):
    """A resumed run gets its whole --max-minutes: the timer ignores the elapsed time stored in the checkpoint."""
    from datetime import timedelta

    from morphogen.train.trainer import SessionTimer, build_trainer

    trainer = build_trainer(tmp_path, max_steps=1, accelerator="cpu", logger="none", progress=False,
                            max_time=timedelta(minutes=5))
    timers = [c for c in trainer.callbacks if isinstance(c, SessionTimer)]
    assert len(timers) == 1 and timers[0]._duration == 300.0
    timers[0].load_state_dict({"time_elapsed": {"train": 1e6, "validate": 0.0, "test": 0.0, "predict": 0.0}})
    assert timers[0].time_elapsed("train") < 1.0
