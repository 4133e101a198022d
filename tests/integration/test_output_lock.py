"""Every sampling command holds its ``--out`` (issue 15: two runs into one folder mixed their files): while another
run holds the folder, each command of every domain that takes the shared sampling options fails at once, in one
line naming the folder, before it loads a model or reads its input."""
from __future__ import annotations

import pytest

from ..output_faults import run_command

# the sampling commands and the options they require besides --checkpoint / --out (dummies: nothing is read)
SAMPLING_COMMANDS = {
    ("graphs", "sample"): [],
    ("crystals", "predict"): ["--compositions", "none.csv"],
    ("crystals", "generate"): ["--num-samples", "2"],
    ("music", "generate"): [],
    ("medical", "segment"): ["--images", "none.png"],
    ("spectra", "elucidate"): ["--spectra", "none.jsonl"],
}


def _sampling_commands() -> set[tuple[str, str]]:
    """(domain, command) of every installed command that has all the shared sampling options."""
    import typer

    from morphogen.cli.options import SAMPLING_OPTION_NAMES
    from morphogen.cli.plugins import discover

    wanted = {f"--{n.replace('_', '-')}" for n in SAMPLING_OPTION_NAMES}
    found = set()
    for name, plugin in discover().items():
        group = typer.main.get_command(plugin.typer_app())
        for cmd_name, cmd in getattr(group, "commands", {}).items():
            if wanted <= {o for p in cmd.params for o in getattr(p, "opts", [])}:
                found.add((name, cmd_name))
    return found


def test_the_list_is_every_sampling_command():
    assert _sampling_commands() == set(SAMPLING_COMMANDS)


@pytest.mark.parametrize("domain,command", sorted(SAMPLING_COMMANDS),
                         ids=[" ".join(c) for c in sorted(SAMPLING_COMMANDS)])
def test_a_held_output_folder_is_refused_at_once(domain, command, tmp_path):
    from morphogen.utils.outputs import exclusive_output

    out = tmp_path / "out"
    with exclusive_output(out):  # another run (an OS file lock: a second open file conflicts in one process too)
        res = run_command(domain, command, "--checkpoint", tmp_path / "no-model.safetensors", "--out", out,
                          *SAMPLING_COMMANDS[(domain, command)])
    assert res.code == 2, res.stderr[-3000:]
    flat = "".join(" ".join(ln.strip(" │╭╮╰╯─") for ln in res.stderr.splitlines()).split())  # typer's box
    assert "anotherrun(pid" in flat and "iswritingthisoutputfolder" in flat and "".join(str(out).split()) in flat
    assert "no-model" not in res.stderr  # refused before the model was looked for
