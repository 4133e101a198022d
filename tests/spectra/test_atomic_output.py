"""The files of ``spectra elucidate`` (issue 15): each written atomically, ``elucidation.json`` last (an earlier
run's removed first), and a full disk at any file named in one line, with no truncated or temporary file and no
index left. The session's 1-step model (tests/spectra/conftest.py) on two records."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("rdkit")

from tests.output_faults import NO_SPACE, FullDisk, folder_files, run_command  # noqa: E402

INDEX = "elucidation.json"


def _files(recs) -> list[str]:
    """The files in the order they are written: the tables, the 3-D best candidates, a picture per id, the index."""
    return ["candidates.csv", "samples.csv", "best.sdf", *(f"{r['id']}.png" for r in recs[:2]), INDEX]


def _elucidate(tiny, tmp_path, out):
    run, recs = tiny
    query = tmp_path / "query.jsonl"
    query.write_text("".join(json.dumps(r) + "\n" for r in recs[:2]))
    return run_command("spectra", "elucidate", "--checkpoint", run, "--spectra", query, "--num-samples", "2",
                       "--steps", "1", "--out", out)


def test_every_file_is_atomic_and_the_index_comes_last(tiny_spectra, shared_data, tmp_path, monkeypatch):
    out = tmp_path / "o"
    out.mkdir()
    (out / INDEX).write_text("{}")  # an earlier run's
    disk = FullDisk().install(monkeypatch)
    res = _elucidate(tiny_spectra, tmp_path, out)
    assert res.code == 0, res.stderr[-3000:]
    assert [p.name for p in disk.written] == _files(tiny_spectra[1])
    assert sorted(folder_files(out)) == sorted(_files(tiny_spectra[1]))
    assert json.loads((out / INDEX).read_text())["records"] == 2


@pytest.mark.parametrize("k", range(6))
def test_a_full_disk_leaves_complete_files_or_none_and_no_index(tiny_spectra, shared_data, tmp_path, monkeypatch,
                                                                 k):
    from morphogen.utils.outputs import temporary_files

    out = tmp_path / "o"
    out.mkdir()
    (out / INDEX).write_text("{}")
    disk = FullDisk(fail_at=k).install(monkeypatch)
    res = _elucidate(tiny_spectra, tmp_path, out)
    assert disk.refused is not None and disk.refused.name == _files(tiny_spectra[1])[k]
    assert res.code == 2 and "Traceback" not in res.stderr, res.stderr[-3000:]
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error")]
    assert errors == [f"error: {disk.refused}: cannot write the file ({NO_SPACE})"], res.stderr[-3000:]
    files = folder_files(out)
    assert sorted(files) == sorted(p.name for p in disk.written) and INDEX not in files
    assert not temporary_files(out)
    # every file left is the complete one (best.sdf of a 1-step model may hold no molecule: an empty SDF is whole)
    assert all(size > 0 for name, size in files.items() if name != "best.sdf"), files
