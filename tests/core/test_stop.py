"""Stopping a training: SIGTERM like SIGINT (a checkpoint of the last step, a message, a non-zero exit), and the end
of a run between two regular checkpoints still resumable from its last step."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import torch

SCRIPT = """
import sys, torch
import lightning as L
from morphogen.bundle import ModelBundle
from morphogen.nn.mlp import MLPDenoiser
from morphogen.processes import FlowMatching, JointProcess
from morphogen.samplers.spec import SamplerSpec
from morphogen.train.config import TrainConfig
from morphogen.train.data import TensorFieldDataset
from morphogen.train.entry import TrainData, train_bundle
from morphogen.train.options import TrainOptions

torch.set_num_threads(1)
class Tell(L.Callback):
    def on_train_batch_end(self, trainer, *a):
        if trainer.global_step == 20:
            print("STEP20", flush=True)
b = ModelBundle(process=JointProcess({"x": FlowMatching()}), denoiser=MLPDenoiser("x", 2, "velocity", hidden=8, layers=1),
                sampler=SamplerSpec("ode_euler", {"steps": 2}))
x = torch.randn(64, 2)
cfg = TrainConfig(batch_size=8, max_steps=int(sys.argv[2]), ema_decay=0.0, checkpoint_every_n_steps=1000)
train_bundle(b, TrainData(TensorFieldDataset({"x": x})), cfg, sys.argv[1], TrainOptions(accelerator="cpu", progress=False),
             callbacks=[Tell()], logger="none")
print("DONE", flush=True)
"""


def _ckpt_step(path) -> int:
    from morphogen.train.checkpoint import load_training_checkpoint

    return int(load_training_checkpoint(path)["global_step"])


def test_sigterm_writes_the_last_step_and_exits_nonzero(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(SCRIPT))
    out = tmp_path / "run"
    p = subprocess.Popen([sys.executable, str(script), str(out), "1000000"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    for line in p.stdout:
        if "STEP20" in line:
            break
    p.send_signal(signal.SIGTERM)
    rest, err = p.communicate(timeout=120)
    assert p.returncode == 143, err[-2000:]
    assert "training stopped by SIGTERM" in rest and "DONE" not in rest
    ckpt = out / "run" / "checkpoints" / "last.ckpt"
    assert ckpt.is_file() and _ckpt_step(ckpt) >= 20
    assert not (out / "model.safetensors").exists()  # a stopped run exports nothing; it resumes


def test_a_run_ending_between_checkpoints_resumes_from_its_last_step(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(SCRIPT))
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, str(script), str(out), "30"], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0 and "DONE" in r.stdout, r.stderr[-2000:]
    assert _ckpt_step(out / "run" / "checkpoints" / "last.ckpt") == 30  # not only every 1,000 steps
    r = subprocess.run([sys.executable, str(script), str(out), "35"], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-2000:]
    assert _ckpt_step(out / "run" / "checkpoints" / "last.ckpt") == 35
    assert torch.load(out / "run" / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 35
