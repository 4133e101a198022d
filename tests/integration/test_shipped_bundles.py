"""Every shipped model of every domain through the one core entry point, and the shared command options."""
from __future__ import annotations

import pytest
import torch

SHIPPED = {"qm9": "graphs", "perov_5": "crystals", "carbon_24": "crystals", "chorales": "music", "hc18": "medical",
           "nmr": "spectra"}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_load_by_name_round_trip(name, tmp_path):
    from morphogen import bundle
    from morphogen.processes.joint import JointProcess
    from morphogen.samplers.base import Sampler

    m = bundle.load(name)
    assert m.domain == SHIPPED[name] and isinstance(m, bundle.ModelBundle)
    assert isinstance(m.process, JointProcess) and isinstance(m.sampler, Sampler)
    assert isinstance(m.denoiser, torch.nn.Module) and not m.denoiser.training
    assert m.metadata.format_version == bundle.FORMAT_VERSION and m.metadata.steps_trained > 0
    assert m.to("cpu") is m and m.device.type == "cpu"
    m.sampler.check(m.process)
    path = m.save(tmp_path / f"{name}.safetensors")
    back = bundle.load(path)
    assert type(back) is type(m) and back.sampler_spec == m.sampler_spec and back.domain_config() == m.domain_config()
    mine, theirs = m.denoiser.state_dict(), back.denoiser.state_dict()
    assert mine.keys() == theirs.keys()
    assert all(torch.equal(v, theirs[k]) and v.dtype == theirs[k].dtype for k, v in mine.items())
    assert bundle.load(f"{SHIPPED[name]}/{name}").source == m.source


def test_unknown_name_lists_the_shipped_models():
    from morphogen import bundle

    with pytest.raises(FileNotFoundError) as err:
        bundle.load("no-such-model")
    for name, domain in SHIPPED.items():
        assert f"{domain}/{name}" in str(err.value)


SAMPLING_COMMANDS = [("graphs", "sample"), ("crystals", "predict"), ("crystals", "generate"), ("music", "generate"),
                     ("medical", "segment")]


@pytest.mark.parametrize("domain,command", SAMPLING_COMMANDS + [(d, "train") for d in ("graphs", "crystals", "music",
                                                                                     "medical")])
def test_every_command_shows_the_shared_options(domain, command):
    from typer.testing import CliRunner

    from morphogen.cli.options import SAMPLING_OPTION_NAMES, TRAIN_OPTION_NAMES
    from morphogen.cli.plugins import discover

    app = discover()[domain].typer_app()
    out = CliRunner().invoke(app, [command, "--help"], terminal_width=240, env={"COLUMNS": "240"})
    assert out.exit_code == 0, out.output
    names = TRAIN_OPTION_NAMES if command == "train" else SAMPLING_OPTION_NAMES
    missing = [n for n in names if f"--{n.replace('_', '-')}" not in out.output]
    assert not missing, f"{domain} {command} lacks {missing}"
