"""How often a training writes its resumable checkpoint (issue 15: a set of one batch per epoch wrote a 3.6 MB
``last.ckpt`` at every step). The train commands checkpoint every ``checkpoint_every_n_steps`` steps or every
``checkpoint_every_minutes`` minutes (default :data:`DEFAULT_CHECKPOINT_MINUTES`), never at every epoch end, and
once more when the run ends."""
from __future__ import annotations

import pytest
import torch

from morphogen.train.config import DEFAULT_CHECKPOINT_MINUTES, TrainConfig


def _train(tmp_path, monkeypatch, steps: int = 30, callbacks=(), **config):
    """Train a tiny flow on 16 points in batches of 16 (one batch per epoch); returns the steps at which a
    checkpoint was written."""
    from morphogen.bundle import ModelBundle
    from morphogen.nn.mlp import MLPDenoiser
    from morphogen.processes import FlowMatching, JointProcess
    from morphogen.samplers.spec import SamplerSpec
    from morphogen.train import trainer as trainer_module
    from morphogen.train.data import TensorFieldDataset
    from morphogen.train.entry import TrainData, train_bundle
    from morphogen.train.options import TrainOptions

    written = []
    save = trainer_module.AtomicCheckpointIO.save_checkpoint

    def counted(self, checkpoint, path, storage_options=None):
        written.append(int(checkpoint["global_step"]))
        return save(self, checkpoint, path, storage_options)

    monkeypatch.setattr(trainer_module.AtomicCheckpointIO, "save_checkpoint", counted)
    torch.manual_seed(0)
    b = ModelBundle(process=JointProcess({"x": FlowMatching()}),
                    denoiser=MLPDenoiser("x", 2, "velocity", hidden=8, layers=1),
                    sampler=SamplerSpec("ode_euler", {"steps": 2}))
    cfg = TrainConfig(batch_size=16, max_steps=steps, ema_decay=0.0, **config)
    train_bundle(b, TrainData(TensorFieldDataset({"x": torch.randn(16, 2)})), cfg, tmp_path / "run",
                 TrainOptions(accelerator="cpu", progress=False), logger="none",
                 callbacks=list(callbacks))
    assert (tmp_path / "run" / "run" / "checkpoints" / "last.ckpt").is_file()
    return written


def test_one_batch_per_epoch_does_not_checkpoint_every_step(tmp_path, monkeypatch):
    """No interval in the train block: by time (10 minutes), so a 30-step run of 30 one-batch epochs writes one
    checkpoint, its last step (it wrote 31 when every epoch end was a checkpoint)."""
    assert DEFAULT_CHECKPOINT_MINUTES == 10.0
    assert _train(tmp_path, monkeypatch) == [30]


def test_checkpoint_every_n_steps(tmp_path, monkeypatch):
    written = _train(tmp_path, monkeypatch, checkpoint_every_n_steps=10)
    assert sorted(set(written)) == [10, 20, 30] and len(written) <= 4  # step 30: the interval's and the end's


def test_checkpoint_every_minutes(tmp_path, monkeypatch):
    """An interval of 0.2 s against steps of at least 50 ms: checkpoints during the run, never two within 0.2 s."""
    import time

    from lightning.pytorch.callbacks import Callback

    class Slow(Callback):
        def on_train_batch_end(self, *a):
            time.sleep(0.05)

    times = []
    monkeypatch.setattr(torch, "save", lambda obj, f, _save=torch.save: (times.append(time.monotonic()), _save(obj, f)))
    written = _train(tmp_path, monkeypatch, steps=24, callbacks=[Slow()], checkpoint_every_minutes=0.2 / 60)
    assert len(written) >= 3 and written[-1] == 24, written  # some by time during the run, and the last step
    gaps = [b - a for a, b in zip(times[:-2], times[1:-1])]  # the last write is the end's, not the interval's
    # the gaps are between torch.save calls, which follow the interval's decision by a save's duration (its jitter is
    # a few ms on a busy machine): allow that much
    assert len(written) < 24 and all(g >= 0.2 - 0.02 for g in gaps), (written, gaps)


def test_the_interval_is_checked():
    with pytest.raises(ValueError, match="checkpoint_every_minutes must be positive"):
        TrainConfig(checkpoint_every_minutes=0)
    with pytest.raises(ValueError, match="not both"):
        TrainConfig(checkpoint_every_n_steps=10, checkpoint_every_minutes=5)
    assert TrainConfig.from_mapping({"checkpoint_every_minutes": 2.5}).checkpoint_every_minutes == 2.5
