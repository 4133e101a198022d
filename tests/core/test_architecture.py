"""The rule of the house (the core imports no domain), the command line, the demo and configuration specs."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "shared" / "morphogen"
DOMAINS = ("graphs", "crystals", "spectra", "music", "medical", "molecules")  # molecules: shared by domains, not core


def test_core_source_never_imports_a_domain():
    offenders = []
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for n in names:
                if any(n == f"morphogen.{d}" or n.startswith(f"morphogen.{d}.") for d in DOMAINS):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {n}")
    assert not offenders, "\n".join(offenders)


def test_importing_every_core_module_loads_no_domain():
    mods = sorted(
        ".".join(p.relative_to(ROOT / "shared").with_suffix("").parts).removesuffix(".__init__")
        for p in CORE.rglob("*.py")
    )
    code = (
        "import sys, importlib\n"
        f"for m in {mods!r}:\n    importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[:2] in [['morphogen', d] for d in {DOMAINS!r}]]\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]


def test_no_init_directly_in_namespace_folders():
    assert not (ROOT / "shared" / "morphogen" / "__init__.py").exists()
    assert not (ROOT / "domains" / "morphogen" / "__init__.py").exists()


def _morphogen(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "morphogen.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "COLUMNS": "200"})


def test_help_is_fast_and_imports_no_heavy_library():
    code = ("import sys\nsys.argv = ['morphogen', '--help']\nfrom morphogen.cli import main\n"
            "try:\n    main.main()\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'lightning', 'torch_geometric', 'monai', 'rdkit', 'pymatgen', 'music21') "
            "if m in sys.modules]\nassert not heavy, heavy\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "demo" in r.stdout
    best = min(_timed_help() for _ in range(3))
    assert best < 1.5, f"morphogen --help took {best:.2f} s"


def _timed_help() -> float:
    """CPU seconds (user + system) of one ``morphogen --help`` process: what the command costs, not how busy the
    machine is (wall time on a loaded 2-core machine doubles; the imports checked above are the cause to guard)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = _morphogen("--help")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert r.returncode == 0
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def test_demo_rejects_unknown_domain():
    r = _morphogen("demo", "--domains", "astrology")
    assert r.returncode != 0
    assert "astrology" in (r.stdout + r.stderr)


def test_core_demo_writes_its_outputs(tmp_path):
    from morphogen.cli.core_demo import run

    res = run(tmp_path, epochs=2, progress=False)
    for name in ("samples.png", "metrics.json", "model.safetensors"):
        assert (tmp_path / name).is_file(), name
    assert res.domain == "core" and isinstance(res.value, float) and res.value >= 0
    from morphogen.train.checkpoint import load_model
    from morphogen.utils.config import build

    weights, config = load_model(tmp_path / "model.safetensors")
    den = build(config["denoiser"])
    den.load_state_dict(weights)  # the shipped file rebuilds its network without unpickling anything
    assert build(config["process"]).fields == ["x"]


@pytest.mark.parametrize("k,name", [(0, "model.safetensors"), (1, "samples.png"), (2, "metrics.json")])
def test_the_core_demo_writes_atomically_with_its_metrics_last(tmp_path, monkeypatch, k, name):
    """A full disk at any of its files: one error naming it, the files before it complete, no metrics.json (the
    folder's index, written last) and no temporary file; an earlier run's metrics.json is removed first."""
    from morphogen.cli.core_demo import run
    from morphogen.utils.outputs import OutputWriteError, temporary_files
    from tests.output_faults import FullDisk, folder_files

    (tmp_path / "metrics.json").write_text("{}")  # an earlier run's
    disk = FullDisk(fail_at=k).install(monkeypatch)
    with pytest.raises(OutputWriteError, match=f"{name}: cannot write the file"):
        run(tmp_path, epochs=1, progress=False)
    assert disk.refused == tmp_path / name
    files = folder_files(tmp_path)
    assert sorted(files) == sorted(p.name for p in disk.written) and all(files.values())
    assert "metrics.json" not in files and not temporary_files(tmp_path)


def test_config_round_trip_of_every_process():
    """Every process class (read from morphogen.testing's census, default examples) and, for some, non-default
    arguments survive one joint spec."""
    from morphogen import processes as P
    from morphogen.schedules import VE, CosineKeep
    from morphogen.testing import process_examples
    from morphogen.utils.config import build, spec_of

    fields = {f"example_{e.name}": e.process() for e in process_examples()}
    fields.update({
        "a": P.GaussianProcess(VE(0.02, 20.0), symmetric=True), "b": P.FlowMatching(extra_noise=0.3),
        "c": P.MaskedDiffusion(7, CosineKeep()), "h": P.PeriodicBFN(steps=20),
        "w": P.WrappedGaussian(sigma_min=0.02, period=2.0), "t": P.TorusFlowMatching(period=2.0),
    })
    joint = P.JointProcess(fields, time_sampling="independent")
    spec = spec_of(joint)
    again = build(spec)
    assert spec_of(again) == spec
    assert {type(p) for p in again.processes.values()} >= {e.cls for e in process_examples()}
    assert again["a"].symmetric and again["c"].schedule.__class__.__name__ == "CosineKeep"
    assert again["w"].period == 2.0 and again["t"].period == 2.0


def test_config_refuses_foreign_classes_and_bad_args():
    from morphogen.utils.config import ConfigError, build

    with pytest.raises(ConfigError, match="refusing to build 'os.system'"):
        build({"class": "os.system", "args": {"command": "true"}})
    with pytest.raises(ConfigError, match="unknown class"):
        build({"class": "morphogen.processes.NoSuchProcess"})
    with pytest.raises(ConfigError, match="cannot build morphogen.schedules.gaussian.VE"):
        build({"class": "morphogen.schedules.gaussian.VE", "args": {"nonsense": 1}})


def test_tensor_arguments_survive_a_spec():
    from morphogen.utils.config import build, spec_of
    from morphogen.objectives.weighted import WeightedObjective

    obj = WeightedObjective({"x": 2.0})
    assert build(spec_of(obj)).weights == {"x": 2.0}
    from morphogen.utils.config import _plain

    t = torch.arange(4, dtype=torch.int16)
    assert torch.equal(build(_plain(t)), t)


def test_every_domain_command_answers_help():
    """Each installed domain's sub-commands render their --help (catches broken option texts)."""
    from typer.testing import CliRunner

    from morphogen.cli import main

    main._register_domains()
    runner = CliRunner()
    from morphogen.cli.plugins import discover

    for name, plugin in discover().items():
        app = plugin.typer_app()
        for cmd in app.registered_commands:
            cmd_name = cmd.name or cmd.callback.__name__.replace("_", "-")
            r = runner.invoke(main.app, [name, cmd_name, "--help"])
            assert r.exit_code == 0, f"morphogen {name} {cmd_name} --help failed: {r.output[-500:]} {r.exception!r}"
