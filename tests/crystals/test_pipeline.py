"""Crystals on the core pipeline: shared command options, the preset schema, training through train_bundle (resume,
--init-from with the lattice codec), the shipped bundles, the legacy file format, NFE counts and batched predict."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from .crystal_helpers import perovskite, write_cdvae_csv
from morphogen.crystals.cli import app

ELEMENTS = [("Sr", "Ti"), ("Ba", "Zr"), ("Ca", "Ti"), ("K", "Nb"), ("La", "Al"), ("Sr", "Zr"), ("Ba", "Ti"),
            ("Ca", "Zr"), ("Na", "Nb"), ("Y", "Al")]
TINY = ("denoiser:\n  class: morphogen.crystals.models.cspnet.CrystalDenoiser\n"
        "  args: {hidden: 16, layers: 1, num_freqs: 2}\n")


def _tiny_preset(tmp_path, name="tiny"):
    """The perov_5 preset with a small network, checkpointed every step (a run of a few steps must leave a
    last.ckpt to resume from: with the preset's 1,000 no checkpoint is written before step 1,000)."""
    from morphogen.crystals.experiment import PRESET_DIR

    text = (PRESET_DIR / "perov_5.yaml").read_text()
    start = text.index("denoiser:")
    end = text.index("train:")
    path = tmp_path / f"{name}.yaml"
    path.write_text((text[:start] + TINY + text[end:]).replace("checkpoint_every_n_steps: 1000",
                                                               "checkpoint_every_n_steps: 1"))
    return path


def _data(tmp_path, a0=3.9):
    return write_cdvae_csv(tmp_path / f"pool_{a0}.csv",
                           [perovskite(a, b, a=a0 + 0.05 * i) for i, (a, b) in enumerate(ELEMENTS)])


@pytest.mark.parametrize("command", ["train", "predict", "generate"])
def test_help_lists_every_shared_option(command):
    from morphogen.cli.options import SAMPLING_OPTION_NAMES, TRAIN_OPTION_NAMES

    names = TRAIN_OPTION_NAMES if command == "train" else SAMPLING_OPTION_NAMES
    out = CliRunner().invoke(app, [command, "--help"], terminal_width=200).output
    for n in names:
        assert f"--{n.replace('_', '-')}" in out, (command, n)
    own = {"train": ["--task", "--process"], "predict": ["--compositions", "--num-samples"],
           "generate": ["--num-samples"]}[command]
    assert all(o in out for o in own), out


def test_presets_follow_the_schema_and_unknown_keys_name_file_and_key(tmp_path):
    from morphogen.bundle import PresetError
    from morphogen.crystals.experiment import PRESET_DIR, load_preset
    from morphogen.utils.typed import TypedConfigError

    for path in sorted(PRESET_DIR.glob("*.yaml")):
        p = load_preset(path.stem)
        assert {"bfn", "diffusion", "flow"} <= set(p.variants) and p.domain == "crystals"
        assert p.train.val_every_n_steps == 1000 and p.train.checkpoint_every_n_steps == 1000
        assert p.variant("bfn").sampler.name in ("bfn", "bfn_end_back")
        # equal footing: every variant of a preset trains the same network for the same number of steps
        assert len({p.variant(v).train.max_steps for v in p.variants}) == 1
        assert len({p.variant(v).denoiser["class"] for v in p.variants}) == 1
    good = (PRESET_DIR / "perov_5.yaml").read_text()
    (tmp_path / "top.yaml").write_text(good + "processes: {}\n")
    with pytest.raises(PresetError, match=r"top.yaml: unknown top-level key \['processes'\]"):
        load_preset(tmp_path / "top.yaml")
    (tmp_path / "data.yaml").write_text(good.replace("primitive: false", "primitive: false\n  nigli: true"))
    with pytest.raises(TypedConfigError, match=r"data.yaml: data: unknown key \['nigli'\]"):
        load_preset(tmp_path / "data.yaml")
    (tmp_path / "train.yaml").write_text(good.replace("seed: 0\n  val_every", "seed: 0\n  max_step: 3\n  val_every"))
    with pytest.raises(TypedConfigError, match=r"train.yaml: train: unknown key \['max_step'\]"):
        load_preset(tmp_path / "train.yaml")
    (tmp_path / "split.yaml").write_text(good.replace("seed: 0}", "seed: zero}"))
    with pytest.raises(TypedConfigError, match=r"split.yaml: data.split.seed: expected an integer"):
        load_preset(tmp_path / "split.yaml")


def test_task_decides_the_fields_of_the_process():
    from morphogen.crystals.data import LatticeCodec, LatticeMatrixCodec
    from morphogen.crystals.experiment import build_model, lattice_form, load_preset

    p = load_preset("perov_5")
    assert lattice_form(p, "diffusion") == "matrix" and lattice_form(p, "bfn_params") == "params"
    csp, gen = (build_model(p, t, "diffusion", LatticeMatrixCodec()) for t in ("csp", "gen"))
    assert csp.process.fields == ["lattice", "frac_coords"]
    assert gen.process.fields == ["lattice", "frac_coords", "atom_types"]
    assert gen.denoiser.prediction_kinds["atom_types"] == "logits" and csp.denoiser.task == "csp"
    assert csp.sampler_spec.name == "ancestral" and csp.sampler.steps == 20 and csp.family == "diffusion"
    with pytest.raises(ValueError, match="the denoiser reads 'matrix'"):  # codec and network must agree
        build_model(p, "csp", "flow", LatticeCodec())


def test_tiny_cli_training_runs_resumes_and_fine_tunes_with_the_start_codec(tmp_path, caplog):
    import logging

    from morphogen.bundle import load

    preset, data, runner = _tiny_preset(tmp_path), _data(tmp_path), CliRunner()
    base = ["train", "--preset", str(preset), "--data", str(data), "--batch-size", "4", "--accelerator", "cpu"]
    r = runner.invoke(app, base + ["--out", str(tmp_path / "a"), "--max-steps", "2"])
    assert r.exit_code == 0, r.output
    assert "8 train, 1 val, 1 test" in r.output and "(2 steps" in r.output
    assert (tmp_path / "a" / "run" / "checkpoints" / "last.ckpt").is_file()
    with caplog.at_level(logging.INFO, logger="lightning.pytorch"):
        r = runner.invoke(app, base + ["--out", str(tmp_path / "a"), "--max-steps", "3"])  # resumes from last.ckpt
    assert r.exit_code == 0, r.output
    assert "(3 steps" in r.output
    assert "Restoring states from the checkpoint path" in caplog.text and "last.ckpt" in caplog.text
    a = load(tmp_path / "a")
    assert a.metadata.steps_trained == 3 and a.metadata.data_fingerprint and a.metadata.preset == str(preset)
    assert (a.task, a.family, a.num_atoms.to_mapping()) == ("csp", "bfn", {5: 8})
    # fine-tuning on other data keeps the start model's lattice codec (the network was trained on it)
    other = _data(tmp_path, a0=5.0)
    r = runner.invoke(app, ["train", "--preset", str(preset), "--data", str(other), "--batch-size", "4",
                            "--accelerator", "cpu", "--out", str(tmp_path / "b"), "--max-steps", "1",
                            "--init-from", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    b = load(tmp_path / "b")
    assert b.codec.mean == a.codec.mean and b.codec.std == a.codec.std
    with pytest.raises(ValueError, match="--init-from .*csp/bfn model, but this run trains csp/flow"):
        runner.invoke(app, base + ["--out", str(tmp_path / "c"), "--max-steps", "1", "--process", "flow",
                                   "--init-from", str(tmp_path / "a")], catch_exceptions=False)
    bad = runner.invoke(app, base + ["--out", str(tmp_path / "d"), "--process", "sde"])
    assert bad.exit_code == 2 and "--process" in bad.output


@pytest.mark.parametrize("name,family,sampler,steps", [("perov_5", "bfn", "bfn_end_back", 20),
                                                       ("carbon_24", "bfn", "bfn", 100)])
def test_shipped_bundles_load_by_name_and_round_trip(tmp_path, name, family, sampler, steps):
    from morphogen.bundle import load, shipped_models
    from morphogen.crystals.models.bundle import CrystalModel

    assert f"crystals/{name}" in shipped_models("crystals")
    m = load(name)
    assert isinstance(m, CrystalModel) and m.domain == "crystals" and m.task == "csp" and m.family == family
    assert m.process.fields == ["lattice", "frac_coords"] and m.denoiser.task == "csp"
    assert m.sampler_spec.name == sampler and m.sampler.steps == steps
    assert m.metadata.preset == name and m.metadata.steps_trained > 0
    if name == "carbon_24":  # converted from the first file format; perov_5 was trained in the bundle format
        assert m.metadata.notes["converted_from"] == "morphogen.crystals/1"
    else:  # the preset's equal-footing network (CSPNet on the lattice matrix), its full budget
        assert type(m.denoiser).__name__ == "CSPNet" and m.metadata.steps_trained == 12000
    m = m.to("cpu")
    assert m.device == torch.device("cpu")
    m.save(tmp_path / "copy.safetensors")
    c = load(tmp_path / "copy.safetensors")
    for k, v in m.denoiser.state_dict().items():
        assert torch.equal(v, c.denoiser.state_dict()[k]), k
    from morphogen.utils.config import spec_of

    assert spec_of(c.codec) == spec_of(m.codec) and c.num_atoms == m.num_atoms and c.sampler_spec == m.sampler_spec


def test_legacy_files_still_load(tmp_path):
    """A file of the pre-bundle format "morphogen.crystals/1" loads through the plugin's legacy hook."""
    from morphogen.bundle import load
    from morphogen.crystals.data import LatticeCodec
    from morphogen.crystals.experiment import build_model, load_preset
    from morphogen.train.checkpoint import save_model
    from morphogen.utils.config import spec_of

    m = build_model(load_preset(_tiny_preset(tmp_path)), "gen", "flow", LatticeCodec(), {6: 3, 8: 1})
    old = {"format": "morphogen.crystals/1", "task": "gen", "process": "flow", "joint": spec_of(m.process),
           "denoiser": spec_of(m.denoiser), "codec": spec_of(m.codec), "sampler": {"name": "ancestral", "steps": 7},
           "num_atoms": {"6": 3, "8": 1}}
    path = save_model(tmp_path / "old.safetensors", m.denoiser.state_dict(), old)
    back = load(path)
    assert (back.task, back.family, back.num_atoms.to_mapping(), back.sampler.steps) == ("gen", "flow", {6: 3, 8: 1}, 7)
    for k, v in m.denoiser.state_dict().items():
        assert torch.equal(v, back.denoiser.state_dict()[k]), k
    r = CliRunner().invoke(app, ["generate", "--checkpoint", str(path), "--num-samples", "2", "--steps", "2",
                                 "--device", "cpu", "--out", str(tmp_path / "g")])
    assert r.exit_code == 0, r.output
    assert "2 NFE per sample" in r.output


def test_nfe_is_the_samplers_count_and_bfn_step_warning():
    import warnings

    from morphogen.crystals.experiment import load_model, sample_structures

    m = load_model("carbon_24")
    cells = [np.full(6, 6)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = sample_structures(m, cells, steps=None, sampler="bfn")  # its own 100 steps: no warning
    assert res.nfe == 101 and res.sampler.args["steps"] == 100
    with pytest.warns(UserWarning, match="trained with 100 uniform steps; sampling with 4"):
        res = sample_structures(m, cells, steps=4)
    assert res.nfe == 5 and len(res.structures) == 1


def test_predict_batches_all_samples_and_keeps_one_sample_results(tmp_path):
    from morphogen.crystals.data import CompositionRecord
    from morphogen.crystals.experiment import load_model, sample_structures
    from morphogen.crystals.prediction import predict

    m = load_model("perov_5")
    comps = [CompositionRecord(np.array([8, 8, 8, 22, 38]), "SrTiO3", "a", 0),
             CompositionRecord(np.array([8, 8, 8, 40, 56]), "BaZrO3", "b", 1)]
    one = sample_structures(m, [c.atomic_numbers for c in comps], steps=3, seed=4)
    p1 = predict(m, comps, 1, steps=3, seed=4, device="cpu")
    assert p1.nfe == 3 == one.nfe
    for s, t in zip(p1.samples[0], one.structures):
        assert np.allclose(s.frac_coords, t.frac_coords) and np.allclose(s.lattice.abc, t.lattice.abc)
    p3 = predict(m, comps, 3, steps=3, seed=4, batch_size=4)  # 6 cells in batches of 4
    assert len(p3.samples) == 3 and all(len(run) == 2 for run in p3.samples)
    assert len(p3.per_composition()[1]) == 3
    w = p3.write(tmp_path / "out")
    assert w.written + w.failed == 6 and (tmp_path / "out" / "index.csv").is_file()
    from morphogen.crystals.prediction import generate

    with pytest.raises(ValueError, match="use predict"):
        generate(m, 2)
