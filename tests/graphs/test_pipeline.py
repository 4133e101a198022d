"""The graphs domain on the core pipeline: the shipped model as a bundle, the old file format, the shared command
options, the default sampler, and a short training through the command line that resumes."""
import json
import re

import pytest
import torch
from typer.testing import CliRunner


def _plain(text: str) -> str:
    """Command output without the error box typer draws (and its line breaks)."""
    return re.sub(r"[\s│╭╮╰╯─]+", " ", text)


def _app():
    from morphogen.graphs.cli import app

    return app


def test_shipped_qm9_loads_by_name_and_round_trips(tmp_path):
    from morphogen.bundle import load
    from morphogen.graphs.model import GraphModel

    m = load("qm9")
    assert isinstance(m, GraphModel) and m.domain == "graphs" and m.source.name == "qm9.safetensors"
    assert set(m.process.processes) == {"X", "A"} and m.denoiser.prediction_kinds == {"X": "score", "A": "score"}
    assert m.sampler.name == "s4" and m.sampler.steps == 200
    assert (m.sampler.snr, m.sampler.scale_eps, m.sampler.step_rule) == (0.3, 0.7, "score_norm")
    assert m.metadata.preset == "qm9" and m.metadata.steps_trained == 34_800 and m.metadata.format_version == 1
    assert m.metadata.notes["data"]["test_index"] == "valid_idx_qm9.json"
    assert "--preset qm9" in m.metadata.notes["trained"]
    assert m.feature_names == ["C", "N", "O", "F"] and m.max_nodes == 9 and m.molecules
    assert len(m.node_count_hist) == 10 and sum(m.node_count_hist) == 117_917
    assert m.to("cpu") is m and m.device == torch.device("cpu")
    path = m.save(tmp_path / "copy.safetensors")
    c = load(path)
    assert type(c) is GraphModel and c.domain_config() == m.domain_config() and c.sampler_spec == m.sampler_spec
    assert c.metadata == m.metadata
    a, b = m.denoiser.state_dict(), c.denoiser.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    s1, s2 = m.generate(6, steps=4, seed=3, batch_size=4), c.generate(6, steps=4, seed=3, batch_size=4)
    assert s1.x.shape == (6, 9, 4) and s1.adj.shape == (6, 9, 9) and s1.mask.shape == (6, 9) and s1.nfe == 4
    assert torch.equal(s1.x, s2.x) and torch.equal(s1.adj, s2.adj) and torch.equal(s1.mask, s2.mask)
    assert str(s1.sampler).startswith("s4:steps=4,snr=0.3,scale_eps=0.7")


def test_old_format_files_load_through_the_legacy_hook(tmp_path):
    """A model file of the pre-bundle format (as trained before), with S4's old step-rule name, still loads; the
    conversion rewrites it with identical weights."""
    from morphogen.bundle import load
    from morphogen.bundle import convert_file
    from morphogen.train.checkpoint import save_model

    m = load("qm9")
    weights = m.denoiser.state_dict()
    old = {"process": m.config()["process"], "denoiser": m.config()["denoiser"],
           "dataset": {"name": "qm9", "max_nodes": 9}, "feature_names": m.feature_names, "max_nodes": 9,
           "node_count_hist": m.node_count_hist, "kind": "molecule",
           "sampler": {"name": "s4", "args": {"steps": 1000, "snr": 0.2, "step_rule": "gdss"}}}
    save_model(tmp_path / "old.safetensors", weights, old)
    o = load(tmp_path / "old.safetensors", domain="graphs")
    assert o.sampler.step_rule == "noise_norm" and o.sampler.steps == 1000 and o.molecules
    assert o.metadata.preset == "qm9" and o.metadata.notes["data"] == {"name": "qm9", "max_nodes": 9}
    new = convert_file(tmp_path / "old.safetensors", tmp_path / "new.safetensors", sampler="s4:steps=50")
    n = load(new)
    assert n.sampler.steps == 50 and n.sampler.step_rule == "noise_norm"
    assert n.metadata.notes["sampler_in_the_old_file"]["args"]["steps"] == 1000
    assert all(torch.equal(v, n.denoiser.state_dict()[k]) for k, v in weights.items())
    assert load(tmp_path / "old.safetensors").domain == "graphs"  # found without naming the domain


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])  # CUDA where there is one


@pytest.mark.parametrize("device", DEVICES)
def test_generate_on_a_device(device):
    from morphogen.bundle import load

    m = load("qm9")
    s = m.generate(8, steps=3, device=device)
    assert m.device.type == device and s.x.device.type == "cpu" and s.x.shape == (8, 9, 4) and s.nfe == 3
    # sampled under torch.inference_mode, returned as ordinary tensors (usable with autograd afterwards)
    assert not (s.x.is_inference() or s.adj.is_inference() or s.mask.is_inference())
    assert s.x.requires_grad_().sum().requires_grad


def test_help_lists_every_shared_option():
    from morphogen.cli.options import SAMPLING_OPTION_NAMES, TRAIN_OPTION_NAMES

    runner = CliRunner()
    for cmd, names, own in (("train", TRAIN_OPTION_NAMES, ("epochs", "limit", "skip_invalid")),
                            ("sample", SAMPLING_OPTION_NAMES, ("num_samples",))):
        r = runner.invoke(_app(), [cmd, "--help"], terminal_width=200)
        assert r.exit_code == 0, r.output
        for n in (*names, *own):
            assert f"--{n.replace('_', '-')}" in r.output, (cmd, n)


def test_sample_uses_the_models_default_sampler(tmp_path):
    """No sampler flags: S4 with GDSS's QM9 settings at 200 steps (the measured-best setting of the shipped model)."""
    r = CliRunner().invoke(_app(), ["sample", "--checkpoint", "qm9", "--num-samples", "3", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    info = json.loads((tmp_path / "sampling.json").read_text())
    assert info["sampler"] == "s4:steps=200,snr=0.3,scale_eps=0.7,step_rule=score_norm,grid=uniform,final=mean"
    assert info["nfe_per_sample"] == 200 and info["device"] == "cpu"
    assert len((tmp_path / "samples.smi").read_text().split("\n")) == 4  # three lines and the final newline
    r = CliRunner().invoke(_app(), ["sample", "--checkpoint", "qm9", "--out", str(tmp_path), "--sampler", "bfn"])
    assert r.exit_code == 2 and "samplers that fit this process" in _plain(r.output)
    r = CliRunner().invoke(_app(), ["sample", "--checkpoint", "nothing-here", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "--checkpoint: no model 'nothing-here'" in _plain(r.output)


def test_short_training_through_the_cli_resumes(shared_data, monkeypatch, tmp_path):
    from morphogen.bundle import load

    monkeypatch.setenv("MORPHOGEN_DATA", str(shared_data))
    run = tmp_path / "run"
    args = ["train", "--preset", "community_small", "--out", str(run), "--limit", "16", "--batch-size", "8",
            "--accelerator", "cpu"]
    r = CliRunner().invoke(_app(), [*args, "--epochs", "1"])
    assert r.exit_code == 0, r.output
    assert "(2 optimiser steps)" in r.output  # 16 graphs, batches of 8
    first = load(run)
    assert first.metadata.steps_trained == 2 and first.metadata.preset == "community_small"
    assert sum(first.node_count_hist) == 16 and not first.molecules and len(first.metadata.data_fingerprint) == 16
    assert (run / "run" / "checkpoints" / "last.ckpt").is_file()
    r = CliRunner().invoke(_app(), [*args, "--max-steps", "5"])
    assert r.exit_code == 0, r.output
    assert "(5 optimiser steps)" in r.output  # resumed at step 2, not started afresh
    again = load(run)
    assert again.metadata.steps_trained == 5 and again.metadata.data_fingerprint == first.metadata.data_fingerprint
    assert any(not torch.equal(v, again.denoiser.state_dict()[k]) for k, v in first.denoiser.state_dict().items())


def test_preset_data_section_is_typed(tmp_path):
    from morphogen.graphs.data.sources import GraphDataSpec
    from morphogen.graphs.pipeline import PRESET_DIR, load_preset
    from morphogen.utils.typed import TypedConfigError

    assert GraphDataSpec.of(load_preset("qm9")).test_index == "valid_idx_qm9.json"
    bad = tmp_path / "bad.yaml"
    bad.write_text((PRESET_DIR / "qm9.yaml").read_text().replace("max_nodes: 9,", "max_node: 9,"))
    with pytest.raises(TypedConfigError, match=r"bad.yaml: data: unknown key \['max_node'\]"):
        GraphDataSpec.of(load_preset(bad))
    bad.write_text((PRESET_DIR / "qm9.yaml").read_text().replace("name: qm9,", "name: qm10,"))
    with pytest.raises(TypedConfigError, match="unknown dataset 'qm10'"):
        GraphDataSpec.of(load_preset(bad))
