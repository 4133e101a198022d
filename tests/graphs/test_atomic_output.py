"""The samples folder of ``graphs sample`` (issue 15): every file atomic, ``sampling.json`` (the index) written last
and an earlier run's removed first, and a full disk in the middle of the run named in one line with nothing
half-written left behind. The model is the shipped ``qm9`` at 2 steps."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..output_faults import FullDisk, check_full_disk_run, folder_files, run_command

FILES = ["samples.smi", "grid.png", "sampling.json"]  # in the order they are written


def _sample(out: Path):
    return run_command("graphs", "sample", "--checkpoint", "qm9", "--num-samples", "4", "--steps", "2",
                       "--out", str(out))


def test_every_file_goes_through_the_atomic_write_and_the_index_comes_last(tmp_path, monkeypatch):
    disk = FullDisk().install(monkeypatch)
    res = _sample(tmp_path / "s")
    assert res.code == 0, res.stderr[-3000:]
    assert [p.name for p in disk.written] == FILES
    assert sorted(folder_files(tmp_path / "s")) == sorted(FILES)  # no file written around it
    info = json.loads((tmp_path / "s" / "sampling.json").read_text())
    assert [Path(f).name for f in info["files"]] == FILES


@pytest.mark.parametrize("k", range(len(FILES)), ids=FILES)
def test_a_full_disk_leaves_complete_files_or_none_and_no_index(tmp_path, monkeypatch, k):
    disk = FullDisk(fail_at=k).install(monkeypatch)
    check_full_disk_run(_sample(tmp_path / "s"), disk, tmp_path / "s", "sampling.json")
    assert disk.refused.name == FILES[k]


def test_an_earlier_runs_index_and_metrics_are_removed_first(tmp_path, monkeypatch):
    out = tmp_path / "s"
    assert _sample(out).code == 0
    (out / "metrics.json").write_text("{}")  # what `evaluate` wrote about the earlier samples
    disk = FullDisk(fail_at=2).install(monkeypatch)  # the new samples and grid are written, the index is not
    res = _sample(out)
    assert res.code == 2 and disk.refused == out / "sampling.json"
    assert sorted(folder_files(out)) == ["grid.png", "samples.smi"]  # a folder without an index: not a whole run


def test_the_generic_graph_writers_are_atomic(tmp_path, monkeypatch):
    import networkx as nx

    from morphogen.graphs.data.generic import write_graph_json
    from morphogen.graphs.io.formats import draw_graphs
    from morphogen.utils.outputs import OutputWriteError

    graphs = [nx.path_graph(4), nx.cycle_graph(5)]
    FullDisk(fail_at=0).install(monkeypatch)
    for write, name in ((write_graph_json, "graphs.json"), (draw_graphs, "grid.png")):
        with pytest.raises(OutputWriteError, match=f"{name}: cannot write the file"):
            write(graphs, tmp_path / name)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    assert json.loads(write_graph_json(graphs, tmp_path / "graphs.json").read_text())["graphs"][1]["num_nodes"] == 5
    assert draw_graphs(graphs, tmp_path / "grid.png").read_bytes()[:4] == b"\x89PNG"
