"""The core pipeline pieces: sampler specs, typed train blocks, presets, model bundles, training entry, options."""
from __future__ import annotations


import pytest
import torch

from morphogen.bundle import BundleMetadata, ModelBundle, PresetError, load, load_preset, parse_preset
from morphogen.processes import FlowMatching, JointProcess
from morphogen.samplers.spec import SamplerSpec, SamplerSpecError
from morphogen.train.config import TrainConfig
from morphogen.utils.typed import TypedConfigError


def _bundle(steps: int = 7) -> ModelBundle:
    from morphogen.nn.mlp import MLPDenoiser

    torch.manual_seed(0)
    return ModelBundle(process=JointProcess({"x": FlowMatching()}),
                       denoiser=MLPDenoiser("x", 2, "velocity", hidden=16, layers=2),
                       sampler=SamplerSpec("ode_euler", {"steps": steps}),
                       metadata=BundleMetadata(preset="toy", steps_trained=3))


# -- sampler specs -------------------------------------------------------------------------------------------------
def test_sampler_spec_parse_and_values():
    s = SamplerSpec.parse("renoise:start=0.5,steps=10,foo=bar,flag=true")
    assert s.name == "renoise" and s.args == {"start": 0.5, "steps": 10, "foo": "bar", "flag": True}
    assert SamplerSpec.parse(str(s)) == s
    for bad in ("", "x:y", "a b", "s4:=3"):
        with pytest.raises(SamplerSpecError):
            SamplerSpec.parse(bad)


def test_sampler_spec_rule_same_name_keeps_defaults_other_name_keeps_steps():
    default = SamplerSpec("pc", {"steps": 200, "snr": 0.2})
    assert default.with_options() == default
    assert default.with_options(steps=50).args == {"steps": 50, "snr": 0.2}
    assert default.with_options("pc:snr=0.1").args == {"steps": 200, "snr": 0.1}
    other = default.with_options("heun")
    assert other.name == "heun" and other.args == {"steps": 200}
    assert default.with_options("heun:steps=5", steps=9).args == {"steps": 9}
    with pytest.raises(SamplerSpecError):
        default.with_options(steps=0)


def test_sampler_spec_of_instance_round_trip():
    from morphogen.samplers import get_sampler

    smp = get_sampler("dpm_solver", steps=12)
    spec = SamplerSpec.of(smp)
    assert spec.name == "dpm_solver" and spec.args["steps"] == 12
    assert SamplerSpec.of(spec.build()) == spec


# -- typed train block and presets ---------------------------------------------------------------------------------
def test_train_config_types_and_unknown_keys():
    cfg = TrainConfig.from_mapping({"batch_size": 8, "lr": "5e-4", "max_steps": 10}, "p.yaml: train")
    assert cfg.lr == pytest.approx(5e-4) and cfg.batch_size == 8
    with pytest.raises(TypedConfigError, match=r"p.yaml: train: unknown key \['btach_size'\]"):
        TrainConfig.from_mapping({"btach_size": 8}, "p.yaml: train")
    with pytest.raises(TypedConfigError, match=r"p.yaml: train.batch_size: expected an integer"):
        TrainConfig.from_mapping({"batch_size": 8.5}, "p.yaml: train")
    with pytest.raises(TypedConfigError, match=r"train.lr: expected a number"):
        TrainConfig.from_mapping({"lr": "fast"}, "p.yaml: train")
    with pytest.raises(TypedConfigError, match="batch_size must be >= 1"):
        TrainConfig.from_mapping({"batch_size": 0}, "p.yaml: train")
    assert cfg.override(lr=None, batch_size=4).batch_size == 4


PRESET = """
domain: toy
data: {n: 64}
process:
  class: morphogen.processes.joint.JointProcess
  args: {processes: {x: {class: morphogen.processes.FlowMatching, args: {}}}}
denoiser: {class: morphogen.nn.mlp.MLPDenoiser, args: {field: x, dim: 2, kind: velocity, hidden: 16, layers: 2}}
sampler: {name: ode_euler, args: {steps: 8}}
train: {batch_size: 16, lr: 0.01, max_steps: 5}
variants:
  small: {denoiser_args: {hidden: 8}, sampler: {name: heun, args: {steps: 4}}, train: {lr: 0.02}}
"""


def test_preset_schema(tmp_path):
    f = tmp_path / "toy.yaml"
    f.write_text(PRESET)
    p = load_preset(f, tmp_path, "toy")
    assert p.name == "toy" and p.sampler == SamplerSpec("ode_euler", {"steps": 8}) and p.train.max_steps == 5
    v = p.variant("small")
    assert v.denoiser["args"]["hidden"] == 8 and v.sampler.name == "heun" and v.train.lr == 0.02
    assert v.train.max_steps == 5
    with pytest.raises(PresetError, match="no variant 'big'"):
        p.variant("big")
    (tmp_path / "bad.yaml").write_text(PRESET + "\nepochs: 3\n")
    with pytest.raises(PresetError, match=r"bad.yaml: unknown top-level key \['epochs'\]"):
        load_preset(tmp_path / "bad.yaml", tmp_path, "toy")
    (tmp_path / "bad2.yaml").write_text(PRESET.replace("lr: 0.01", "lr: 0.01, epoch: 3"))
    with pytest.raises(TypedConfigError, match=r"bad2.yaml: train: unknown key \['epoch'\]"):
        load_preset(tmp_path / "bad2.yaml", tmp_path, "toy")
    with pytest.raises(PresetError, match="read by 'graphs'"):
        parse_preset({"domain": "toy", "denoiser": {"class": "x"}, "train": {}, "process": {}}, "graphs")
    with pytest.raises(FileNotFoundError, match="shipped presets"):
        load_preset("nope", tmp_path, "toy")


# -- bundles -------------------------------------------------------------------------------------------------------
def test_bundle_save_load_identical_weights_and_sampling(tmp_path):
    b = _bundle()
    assert b.domain == "core" and b.sampler.steps == 7 and b.sampler_spec.name == "ode_euler"
    path = b.save(tmp_path / "m.safetensors")
    c = load(path)
    assert type(c) is ModelBundle and c.source == path
    for k, v in b.denoiser.state_dict().items():
        assert torch.equal(v, c.denoiser.state_dict()[k])
    assert c.metadata.preset == "toy" and c.metadata.steps_trained == 3 and c.metadata.format_version == 1
    assert c.sampler_spec == b.sampler_spec
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    r1, r2 = b.sample({"x": (5, 2)}, generator=g1), c.to("cpu").sample({"x": (5, 2)}, generator=g2)
    assert r1.nfe == 7 and torch.equal(r1.fields["x"], r2.fields["x"])
    assert c.sample({"x": (3, 2)}, steps=3).nfe == 3
    assert c.sample({"x": (3, 2)}, sampler="heun:steps=2").nfe == 3  # Heun: 2 per step, the last one Euler
    c.save(tmp_path / "run" / "model.safetensors")
    assert load(tmp_path / "run").metadata.preset == "toy"  # a run folder


def test_bundle_refuses_incompatible_sampler_and_bad_files(tmp_path):
    from morphogen.samplers.base import IncompatibleSamplerError
    from morphogen.train.checkpoint import CheckpointError

    b = _bundle()
    with pytest.raises(IncompatibleSamplerError):
        b.make_sampler("bfn")
    with pytest.raises(FileNotFoundError, match="no model 'nothing-here'"):
        load("nothing-here")
    (tmp_path / "junk.safetensors").write_bytes(b"not a file")
    with pytest.raises(CheckpointError, match="junk.safetensors"):
        load(tmp_path / "junk.safetensors")


def test_train_bundle_learns_and_resumes(tmp_path):
    from morphogen.train.data import TensorFieldDataset
    from morphogen.train.entry import TrainData, train_bundle
    from morphogen.train.options import TrainOptions

    torch.manual_seed(0)
    x = torch.randn(256, 2) * 0.1 + torch.tensor([2.0, -1.0])
    b = _bundle(steps=10)
    cfg = TrainConfig(batch_size=64, lr=0.01, max_steps=150, ema_decay=0.0, log_every_n_steps=5)
    res = train_bundle(b, TrainData(TensorFieldDataset({"x": x}), fingerprint="abc"), cfg, tmp_path / "run",
                       TrainOptions(accelerator="cpu", progress=False), logger="csv")
    assert res.steps == 150 and res.model_path.is_file()
    m = load(res.model_path)
    assert m.metadata.steps_trained == 150 and m.metadata.data_fingerprint == "abc"
    mean = m.sample({"x": (500, 2)}, generator=torch.Generator().manual_seed(0)).fields["x"].mean(0)
    assert torch.allclose(mean, torch.tensor([2.0, -1.0]), atol=0.3), mean
    # a second call with more steps resumes from last.ckpt
    res2 = train_bundle(_bundle(steps=10), TrainData(TensorFieldDataset({"x": x})), cfg.override(max_steps=160),
                        tmp_path / "run", TrainOptions(accelerator="cpu", progress=False))
    assert res2.steps == 160


def test_export_raw_or_ema_weights_from_a_training_checkpoint(tmp_path):
    """export_ema writes the EMA weights by default and the live ones with weights="raw" (GDSS samples QM9 with its
    raw weights), each tensor for tensor as the checkpoint holds them."""
    from morphogen.train.checkpoint import export_ema, load_model, load_training_checkpoint
    from morphogen.train.data import TensorFieldDataset
    from morphogen.train.entry import TrainData, train_bundle
    from morphogen.train.options import TrainOptions

    x = torch.randn(128, 2)
    cfg = TrainConfig(batch_size=32, lr=0.01, max_steps=12, ema_decay=0.9, log_every_n_steps=5)
    train_bundle(_bundle(steps=4), TrainData(TensorFieldDataset({"x": x})), cfg, tmp_path / "run",
                 TrainOptions(accelerator="cpu", progress=False))
    ckpt = tmp_path / "run" / "run" / "checkpoints" / "last.ckpt"
    sd = load_training_checkpoint(ckpt)["state_dict"]
    for which, prefix in (("ema", "ema.shadow."), ("raw", "denoiser.")):
        weights, _ = load_model(export_ema(ckpt, tmp_path / f"{which}.safetensors", weights=which))
        ref = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
        assert weights.keys() == ref.keys() and all(torch.equal(weights[k], ref[k]) for k in ref)
        assert load(tmp_path / f"{which}.safetensors").sample({"x": (3, 2)}).fields["x"].shape == (3, 2)
    assert not all(torch.equal(sd["ema.shadow." + k], sd["denoiser." + k]) for k in ref)
    with pytest.raises(ValueError, match="weights"):
        export_ema(ckpt, tmp_path / "x.safetensors", weights="other")


def test_train_options_checked():
    from morphogen.train.options import TrainOptions

    assert TrainOptions(devices="0,1").lightning_devices() == [0, 1]
    assert TrainOptions(devices="2").lightning_devices() == 2
    for bad in ({"max_steps": 0}, {"max_minutes": 0}, {"lr": -1.0}, {"num_workers": -1}, {"batch_size": 0}):
        with pytest.raises(ValueError):
            TrainOptions(**bad)


def test_shared_options_decorators_compose_help(tmp_path):
    import typer
    from typer.testing import CliRunner

    from morphogen.cli.options import SAMPLING_OPTION_NAMES, TRAIN_OPTION_NAMES, sampling_command, train_command

    app = typer.Typer()
    seen = {}

    @app.command()
    @train_command
    def train(request, limit: int = typer.Option(3, "--limit")):
        seen["train"] = (request, limit)

    @app.command()
    @sampling_command(out_default=None)
    def sample(sampling, num_samples: int = typer.Option(10, "--num-samples")):
        seen["sample"] = (sampling, num_samples)

    runner = CliRunner()
    for cmd, names in (("train", TRAIN_OPTION_NAMES), ("sample", SAMPLING_OPTION_NAMES)):
        out = runner.invoke(app, [cmd, "--help"], terminal_width=200).output
        for n in names:
            assert f"--{n.replace('_', '-')}" in out, (cmd, n)
    r = runner.invoke(app, ["train", "--preset", "p", "--max-steps", "4", "--limit", "2"])
    assert r.exit_code == 0, r.output
    req, limit = seen["train"]
    assert req.preset == "p" and req.options.max_steps == 4 and limit == 2 and req.options.accelerator == "auto"
    r = runner.invoke(app, ["sample", "--checkpoint", "m", "--out", str(tmp_path / "o"), "--sampler", "heun:steps=3"])
    assert r.exit_code == 0, r.output
    assert seen["sample"][0].sampler == "heun:steps=3"
    o = str(tmp_path / "o")
    assert runner.invoke(app, ["sample", "--checkpoint", "m", "--out", o, "--steps", "0"]).exit_code == 2
    bad = runner.invoke(app, ["sample", "--checkpoint", "m", "--out", str(tmp_path / "o"), "--sampler", "nosuch"])
    assert bad.exit_code == 2 and "known samplers" in bad.output
    assert runner.invoke(app, ["train", "--preset", "p", "--max-minutes", "0"]).exit_code == 2


def test_thread_policy(monkeypatch):
    from morphogen.utils.threads import configure_threads

    monkeypatch.setenv("MORPHOGEN_THREADS", "1")
    assert configure_threads() == 1 and torch.get_num_threads() == 1
    monkeypatch.setenv("MORPHOGEN_THREADS", "many")
    with pytest.raises(ValueError, match="MORPHOGEN_THREADS"):
        configure_threads()
    assert configure_threads(1) == 1
