"""The hostile-input report of issue 15: every concrete case the issue names (and its equivalents in the medical and
spectra domains), run through the real ``morphogen`` command line, one row each, in
``benchmarks/results/hostile_input.md`` and ``.json``.

A row: domain, case, the command (``$T`` is the temporary folder the inputs are written to), exit code, whether a
traceback was printed, the message line, and whether the run meets the issue's rule. The rule for a bad input: one
line naming the culprit (file, record or option), a non-zero exit, no traceback, no partial output (the run's
output folder absent or empty). Cases where the issue asks for success rather than a refusal (a BOM, ``--skip-invalid``)
say what they check in the row's note; so do the interrupted and concurrent runs (SIGTERM during ``train``, two runs
into one ``--out``, a full disk, a read-only ``--out``) and the checkpoint frequency of a one-batch-per-epoch training.

Most cases run in this process through :func:`morphogen.cli.main.main` (:func:`tests.cli_runs.run_command`: the
same parsing, messages and exit codes as the installed command); the cases that once crashed or hung the process
(the 20,000-character SMILES, ``H100000``, the 2,000-bar MIDI), the SIGTERMs, the first run of each concurrency
pair and the read-only folder (a read-only bind mount in a private mount namespace when run as root, else a
0o555 folder) run as subprocesses. Models: the shipped ``qm9``, ``perov_5``, ``chorales`` and ``hc18``; spectra
ships none, so a 1-step model is trained first through ``morphogen spectra train`` on 8 QM9 molecules with
made-up spectra. The full disk is simulated (:class:`tests.output_faults.FullDisk`: every output write goes through
:func:`morphogen.utils.outputs.atomic_write`, and from the second file on a write stops half way with ENOSPC).

    OMP_NUM_THREADS=1 python scripts/hostile_input_report.py [--only DOMAIN ...] [--cases-only] [--keep]

(``--only`` and ``--cases-only`` print the rows without writing the report.)
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from tests.cli_runs import Outcome, run_command  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
LONG_SMILES = "C" * 20_000
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x81" + bytes((i * 97 + 13) % 256 for i in range(3000))
ZINC_OK = "smiles\nCCO\nCCN\nc1ccccc1\nCC(=O)O\n"
MAIN = "from morphogen.cli.main import main; main()"
DOMAINS = ("core", "graphs", "crystals", "music", "medical", "spectra")
BOX = " │╭╮╰╯─"


@dataclass
class Row:
    domain: str
    case: str
    command: str
    exit_code: Optional[int]
    traceback: bool
    message: str
    meets_rule: bool
    note: str = ""
    seconds: float = 0.0


@dataclass
class Case:
    """One run of ``morphogen ARGS``: ``culprit`` must be named by the message; ``out`` must stay absent or empty
    (for a refusal). ``accept``: a success the issue asks for, checked by ``check(outcome) -> (ok, note)``.
    ``child``: run in a child process (the cases that once crashed or hung the process)."""

    domain: str
    case: str
    args: list
    culprit: str = ""
    out: Optional[Path] = None
    accept: bool = False
    check: Optional[Callable] = None
    child: bool = False
    shows: str = ""  # for a success: the output line to show (its first line containing this text)


# --- reading an outcome --------------------------------------------------------------------------------------------

def message_line(res: Outcome) -> str:
    """The line a user reads: the last ``error: ...`` line, else the text of typer's error box, else the last line
    of stderr (stdout for a success)."""
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    if errors:
        return errors[-1]
    box = [ln.strip(BOX) for ln in lines if ln.startswith("│")]
    if box:
        return " ".join(b.strip() for b in box if b.strip())
    if res.code == 0:
        out = [ln for ln in res.stdout.splitlines() if ln.strip()]
        return out[-1] if out else ""
    return lines[-1] if lines else ""


def _flat(text: str) -> str:
    return "".join(" ".join(ln.strip(BOX) for ln in text.splitlines()).split())


def names(res: Outcome, culprit: str) -> bool:
    return "".join(culprit.split()) in _flat(res.stderr + res.stdout)


def has_traceback(res: Outcome) -> bool:
    return res.code == -1 or "Traceback" in res.stderr


def empty_or_absent(path: Optional[Path]) -> bool:
    return path is None or not path.exists() or (path.is_dir() and not any(path.iterdir()))


# --- running ------------------------------------------------------------------------------------------------------

class Env:
    """The environment every run gets: no debug traceback, caching off, a wide terminal (typer's box unwrapped)."""

    VALUES = {"MORPHOGEN_CACHE": "off", "COLUMNS": "400", "OMP_NUM_THREADS": "1"}

    def __enter__(self):
        self.saved = {k: os.environ.get(k) for k in (*self.VALUES, "MORPHOGEN_DEBUG")}
        os.environ.update(self.VALUES)
        os.environ.pop("MORPHOGEN_DEBUG", None)
        return self

    def __exit__(self, *exc):
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def child_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "MORPHOGEN_DEBUG"}
    env.update(Env.VALUES, **extra)
    return env


def run_child(args: list, timeout: float = 300) -> Outcome:
    """``morphogen ARGS`` in a child process; a crash is its signal's negative exit code, a hang a timeout (124)."""
    cmd = [sys.executable, "-c", MAIN, *map(str, args)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), timeout=timeout)
        return Outcome(r.returncode, r.stdout, r.stderr)
    except subprocess.TimeoutExpired as err:
        out = err.stderr.decode(errors="replace") if isinstance(err.stderr, bytes) else (err.stderr or "")
        return Outcome(124, "", f"{out}\n(timed out after {timeout:.0f} s)")


def tidy(text: str, t: Path) -> str:
    """``text`` with $T for the temporary folder and paths in the repository relative to it."""
    return str(text).replace(str(t), "$T").replace(f"{ROOT}/", "")


def shown(args: list, t: Path) -> str:
    """The command as typed (:func:`tidy`)."""
    def one(a) -> str:
        s = tidy(a, t)
        return f"'{s}'" if s == "" or re.search(r"[\s,;&|'\"<>]", s) else s
    return "morphogen " + " ".join(one(a) for a in args)


def run_case(c: Case, t: Path) -> Row:
    t0 = time.time()
    res = run_child(c.args) if c.child else run_command(*map(str, c.args))
    secs = time.time() - t0
    tb = has_traceback(res)
    if c.accept:
        ok, note = c.check(res) if c.check else (True, "")
        ok = ok and res.code == 0 and not tb
    else:
        named, clean = names(res, c.culprit), empty_or_absent(c.out)
        ok = res.code not in (0, -1) and not tb and named and clean and (c.check is None or c.check(res)[0])
        note = "; ".join([*([] if named else [f"does not name {c.culprit!r}"]),
                          *([] if clean else [f"wrote {c.out.name}"]),
                          *([c.check(res)[1]] if c.check else [])])
    if tb:
        note = "; ".join(filter(None, [note, "traceback: " + res.stderr.strip().splitlines()[-1][:200]]))
    msg = message_line(res)
    if c.shows:
        msg = next((ln for ln in (res.stdout + res.stderr).splitlines() if c.shows in ln), msg)
    return Row(c.domain, c.case, shown(c.args, t), res.code, tb, tidy(msg, t), ok, note, round(secs, 1))


# --- inputs -------------------------------------------------------------------------------------------------------

def write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def graphs_json(*rows) -> str:
    return json.dumps({"graphs": list(rows)})


OK_GRAPH = {"num_nodes": 3, "edges": [[0, 1], [1, 2]]}


def other_model(domain: str) -> Path:
    """A shipped model file of another domain."""
    from morphogen.bundle import shipped_models

    models = shipped_models()
    pick = "crystals/perov_5" if domain != "crystals" else "graphs/qm9"
    return Path(models[pick])


# --- the cases of each domain ---------------------------------------------------------------------------------------

def graphs_cases(t: Path) -> list[Case]:
    g = t / "graphs"
    write(g / "long/samples.smi", LONG_SMILES + "\n")
    write(g / "empty/samples.smi", "")
    write(g / "binary/samples.smi", BINARY)
    write(g / "z_long.csv", ZINC_OK + LONG_SMILES + "\n")
    write(g / "z_binary.csv", BINARY)
    write(g / "z_bom.csv", b"\xef\xbb\xbf" + ZINC_OK.encode())
    write(g / "z_skip.csv", ZINC_OK + LONG_SMILES + "\nXyz\n")
    write(g / "run: 1/z.csv", ZINC_OK + "C1CC(\n")
    write(g / "neg.json", graphs_json(*[OK_GRAPH] * 4, {"num_nodes": -3, "edges": []}))
    write(g / "afile", "x")
    import gzip

    whole = gzip.compress(("SMILES\n" + "CCO\n" * 2000).encode())
    write(g / "moses/train.csv.gz", whole[: len(whole) // 2])  # a download cut short
    write(g / "moses/test.csv.gz", gzip.compress(b"SMILES\nCCO\n"))
    crystals = other_model("graphs")
    ev = ["graphs", "evaluate", "--reference", "qm9", "--no-fcd", "--no-nspdk", "--samples"]
    prep = ["graphs", "prepare", "--preset", "zinc250k", "--out", g / "p.safetensors", "--data"]
    smp = ["graphs", "sample", "--checkpoint", "qm9", "--out", g / "out"]
    train = ["graphs", "train", "--preset", "community_small", "--max-steps", "1", "--out", g / "run"]

    def skipped(res):
        m = re.search(r"skipped (\d+) invalid records", res.stdout)
        return bool(m and m.group(1) == "2"), "2 bad rows of 6 skipped and counted" if m else "no count printed"

    def bom(res):
        m = re.search(r"(\d+) training graphs|wrote", res.stdout)
        return bool(m) and (g / "p_bom.safetensors").is_file(), "the BOM file prepared (4 SMILES, no header error)"

    return [
        Case("graphs", "20,000-character SMILES (evaluate; was a segfault)", ev + [g / "long"], "samples.smi:1",
             child=True),
        Case("graphs", "20,000-character SMILES (prepare; was a segfault)", prep + [g / "z_long.csv"], "z_long.csv:6",
             out=g / "p.safetensors", child=True),
        Case("graphs", "--skip-invalid says how many rows it skipped", prep[:5] + [g / "p_skip.safetensors",
             "--data", g / "z_skip.csv", "--skip-invalid"], accept=True, check=skipped, shows="skipped"),
        Case("graphs", "empty samples.smi (was scored as one sample)", ev + [g / "empty"], "samples.smi"),
        Case("graphs", "graph JSON with num_nodes: -3 (trained)", train + ["--data", g / "neg.json"],
             "neg.json: graph 4", out=g / "run"),
        Case("graphs", "--num-samples 0", smp + ["--num-samples", "0"], "--num-samples", out=g / "out"),
        Case("graphs", "--num-samples -5", smp + ["--num-samples", "-5"], "--num-samples", out=g / "out"),
        Case("graphs", "--steps 0", smp + ["--steps", "0"], "--steps", out=g / "out"),
        Case("graphs", "--limit 0 (prepare; ran all)", ["graphs", "prepare", "--preset", "community_small", "--limit",
             "0", "--out", g / "p.safetensors"], "--limit", out=g / "p.safetensors"),
        Case("graphs", "--limit 0 (train; ran all)", train + ["--limit", "0"], "--limit", out=g / "run"),
        Case("graphs", "binary samples.smi (bare UnicodeDecodeError)", ev + [g / "binary"], "samples.smi"),
        Case("graphs", "binary SMILES CSV", prep + [g / "z_binary.csv"], "z_binary.csv", out=g / "p.safetensors"),
        Case("graphs", "truncated .csv.gz download", ["graphs", "prepare", "--preset", "moses", "--data", g / "moses",
             "--out", g / "p.safetensors"], "train.csv.gz", out=g / "p.safetensors"),
        Case("graphs", "a crystals checkpoint passed to graphs (KeyError 'node_count_hist')",
             ["graphs", "sample", "--checkpoint", crystals, "--out", g / "out", "--num-samples", "2"], "perov_5",
             out=g / "out"),
        Case("graphs", "': ' in a path (error text was split on ': ')", prep + [g / "run: 1/z.csv"],
             str(g / "run: 1/z.csv") + ":6", out=g / "p.safetensors"),
        Case("graphs", "UTF-8 BOM in a SMILES CSV", prep[:5] + [g / "p_bom.safetensors", "--data", g / "z_bom.csv"],
             accept=True, check=bom),
        Case("graphs", "--out is a file (sample)", ["graphs", "sample", "--checkpoint", "qm9", "--out", g / "afile",
             "--num-samples", "2"], "afile"),
        Case("graphs", "--out is a file (train)", train[:-1] + [g / "afile", "--data", g / "neg.json"], "afile"),
    ]


def crystals_cases(t: Path) -> list[Case]:
    from tests.crystals.test_hostile_input import _cdvae, _cif, _folder

    c = t / "crystals"
    c.mkdir(parents=True)
    ok = write(c / "ok.csv", "formula,material_id\nSrTiO3,a\n")
    h1000 = write(c / "h1000.csv", "formula,material_id\nSrTiO3,a\nH1000,big\n")
    h100000 = write(c / "h100000.csv", "formula,material_id\nSrTiO3,a\nH100000,huge\n")
    bom = write(c / "bom.csv", "\ufeffmaterial_id,formula\nm-17,SrTiO3\n".encode("utf-8"))
    binary = write(c / "binary.csv", BINARY)
    empty = write(c / "empty.csv", "")
    colon = write(c / "set: 2/comps.csv", "formula,material_id\nSrTiO3,a\nQq3,b\n")
    ref = _cdvae(c / "ref.csv", [("a", _cif())])
    other = _cdvae(c / "other.csv", [("zz-1", _cif()), ("zz-2", _cif())])
    degenerate = _cdvae(c / "degenerate.csv", [("a", _cif().replace("_cell_length_a   3.90000000",
                                                                     "_cell_length_a   0"))])
    good = _folder(c / "pred", [(0, "a", "SrTiO3", 0, "0_0.cif")], {"0_0.cif": _cif()})
    cut = _folder(c / "pred_cut", [(0, "a", "SrTiO3", 0, "0_0.cif")], {"0_0.cif": _cif()[:250]})
    write(c / "afile", "x")
    graphs = other_model("crystals")
    pred = ["crystals", "predict", "--checkpoint", "perov_5", "--steps", "2", "--out", c / "out", "--compositions"]

    def bom_kept(res):
        import csv

        index = c / "out_bom" / "index.csv"
        if not index.is_file():
            return False, "no index.csv"
        ids = [r["material_id"] for r in csv.DictReader(open(index))]
        return ids == ["m-17"], f"index.csv material_id {ids} (was emptied by the BOM)"

    return [
        Case("crystals", "composition H1000 (minutes at 4 GB)", pred + [h1000], "limit of 10 atoms", out=c / "out"),
        Case("crystals", "composition H100000 (asked for 120 GB)", pred + [h100000], "limit of 1000",
             out=c / "out", child=True),
        Case("crystals", "UTF-8 BOM in a compositions CSV (emptied material_id)", pred[:7] + [c / "out_bom",
             "--compositions", bom], accept=True, check=bom_kept),
        Case("crystals", "--num-samples 0", pred + [ok, "--num-samples", "0"], "--num-samples", out=c / "out"),
        Case("crystals", "--num-samples -5", pred + [ok, "--num-samples", "-5"], "--num-samples", out=c / "out"),
        Case("crystals", "--num-samples 0 (generate)", ["crystals", "generate", "--checkpoint", "perov_5",
             "--num-samples", "0", "--out", c / "out"], "--num-samples", out=c / "out"),
        Case("crystals", "--steps 0", pred[:4] + ["--steps", "0", "--out", c / "out", "--compositions", ok],
             "--steps", out=c / "out"),
        Case("crystals", "--limit 0 (prepare)", ["crystals", "prepare", "--preset", "perov_5", "--data", ref,
             "--limit", "0", "--out", c / "p.json.gz"], "--limit", out=c / "p.json.gz"),
        Case("crystals", "evaluate against an unrelated reference (matched by row, match rate 0.0)",
             ["crystals", "evaluate", "--predictions", good, "--reference", other], "other.csv",
             out=good / "metrics.json"),
        Case("crystals", "truncated predicted CIF ('Invalid CIF file with no structures!')",
             ["crystals", "evaluate", "--predictions", cut, "--reference", ref], "0_0.cif", out=cut / "metrics.json"),
        Case("crystals", "a bad CIF's reason ('ZeroDivisionError')", ["crystals", "evaluate", "--predictions", good,
             "--reference", degenerate], "degenerate.csv: record 0", out=good / "metrics.json"),
        Case("crystals", "binary compositions file", pred + [binary], "binary.csv", out=c / "out"),
        Case("crystals", "empty compositions file", pred + [empty], "empty.csv", out=c / "out"),
        Case("crystals", "a graphs checkpoint (qm9) passed to crystals", ["crystals", "predict", "--checkpoint", graphs,
             "--compositions", ok, "--out", c / "out"], "qm9.safetensors", out=c / "out"),
        Case("crystals", "': ' in a path", pred + [colon], str(colon), out=c / "out"),
        Case("crystals", "--out is a file (predict)", pred[:7] + [c / "afile", "--compositions", ok], "afile"),
        Case("crystals", "--out is a file (train)", ["crystals", "train", "--preset", "perov_5", "--data", ref,
             "--max-steps", "1", "--out", c / "afile"], "afile"),
    ]


def music_cases(t: Path) -> list[Case]:
    from tests.music.test_hostile_input import _melody, _smf, _track

    m = t / "music"
    m.mkdir(parents=True)
    whole = _smf([_track([]), _track(_melody(37), "soprano")])
    write(m / "truncated.mid", whole[:-150])
    write(m / "long.mid", _smf([_track([(60 + i % 12, 4) for i in range(2000)], "soprano")]))
    write(m / "binary.mid", BINARY)
    write(m / "empty.mid", b"")
    write(m / "take: 3/cut.mid", whole[:-150])
    write(m / "afile", "x")
    piece = write(m / "same" / "piece.mid", _smf([_track([]), _track(_melody(16), "soprano")]))
    crystals = other_model("music")
    gen = ["music", "generate", "--checkpoint", "chorales", "--steps", "2", "--repair-rounds", "0", "--out", m / "out"]
    ev = ["music", "evaluate", "--checkpoint", "chorales", "--out", m / "m.json"]
    before = piece.read_bytes()

    def same_input(res):
        same = piece.read_bytes() == before
        return same, "the input file unchanged" if same else "the input file was replaced"

    case = [
        Case("music", "2,000-bar MIDI (ran with no output, ignored SIGINT)", gen + ["--input", m / "long.mid"],
             "long.mid", out=m / "out", child=True),
        Case("music", "truncated MIDI (read as 14 of 37 notes)", gen + ["--input", m / "truncated.mid"],
             "truncated.mid", out=m / "out"),
        Case("music", "--bars 0", gen + ["--bars", "0"], "--bars", out=m / "out"),
        Case("music", "--bars -4", gen + ["--bars", "-4"], "--bars", out=m / "out"),
        Case("music", "--steps 0", gen[:4] + ["--steps", "0", "--out", m / "out"], "--steps", out=m / "out"),
        Case("music", "--targets '' (silently the default)", gen + ["--targets", ""], "--targets", out=m / "out"),
        Case("music", "--targets alto,alto (listed three times)", gen + ["--targets", "alto,alto"], "alto",
             out=m / "out"),
        Case("music", "--targets '' (evaluate)", ev + ["--targets", ""], "--targets", out=m / "m.json"),
        Case("music", "--targets alto,alto (evaluate)", ev + ["--targets", "alto,alto"], "alto", out=m / "m.json"),
        Case("music", "--limit 0 (evaluate; ran all)", ev + ["--limit", "0"], "--limit", out=m / "m.json"),
        Case("music", "--limit 0 (train)", ["music", "train", "--preset", "chorales", "--limit", "0", "--out",
             m / "run"], "--limit", out=m / "run"),
        Case("music", "--limit 0 (prepare)", ["music", "prepare", "--preset", "chorales", "--limit", "0", "--out",
             m / "p.json"], "--limit", out=m / "p.json"),
        Case("music", "binary MIDI", gen + ["--input", m / "binary.mid"], "binary.mid", out=m / "out"),
        Case("music", "empty MIDI", gen + ["--input", m / "empty.mid"], "empty.mid", out=m / "out"),
        Case("music", "a crystals checkpoint (perov_5) passed to music", gen[:3] + [crystals] + gen[4:],
             "not a music model",
             out=m / "out"),
        Case("music", "': ' in a path", gen + ["--input", m / "take: 3/cut.mid"], str(m / "take: 3/cut.mid"),
             out=m / "out"),
        Case("music", "--out is a file", gen[:-1] + [m / "afile"], "afile"),
        Case("music", "--out is the input's folder (overwrote the input)", gen[:-1] + [m / "same", "--input", piece],
             "piece.mid"),
    ]
    case[-1].check = same_input
    return case


def medical_cases(t: Path) -> list[Case]:
    import numpy as np

    from tests.medical.test_hostile_input import _hc18, _png

    d = t / "medical"
    d.mkdir(parents=True)
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (54, 80))
    (d / "good").mkdir()
    _png(d / "good" / "p0.png", img)
    (d / "emptydir").mkdir()
    write(d / "binary.png", BINARY)
    write(d / "truncated.png", (d / "good/p0.png").read_bytes()[:120])
    write(d / "scan: 4/cut.png", (d / "good/p0.png").read_bytes()[:120])
    from PIL import Image

    Image.new("L", (9000, 8000)).save(d / "huge.png")
    write(d / "afile", "x")
    pred = d / "pred"
    pred.mkdir()
    mask = np.zeros((54, 80), np.uint8)
    mask[10:40, 20:60] = 255
    _png(pred / "p0_mask.png", mask)
    write(pred / "index.csv", "id,image,mask,overlay,uncertainty,height,width,foreground_fraction,mean_uncertainty,"
          "spacing_row_mm,spacing_col_mm,nfe\np0,x,p0_mask.png,,,54,80,0.2,,,,1\n")
    (d / "otherlabels").mkdir()
    _png(d / "otherlabels" / "q7_mask.png", mask)
    (d / "smalllabels").mkdir()
    _png(d / "smalllabels" / "p0_mask.png", mask[:30, :40])
    _hc18(d / "hc18")
    _hc18(d / "hc18_bom")
    csv = d / "hc18_bom" / "training_set_pixel_size_and_HC.csv"
    csv.write_bytes(b"\xef\xbb\xbf" + csv.read_bytes())
    crystals = other_model("medical")
    seg = ["medical", "segment", "--checkpoint", "hc18", "--steps", "1", "--out", d / "out", "--images"]
    train = ["medical", "train", "--preset", "hc18", "--max-steps", "1", "--batch-size", "2", "--out", d / "run"]

    def trained(res):
        return (d / "run_bom" / "model.safetensors").is_file(), "trained 1 step on the BOM CSV"

    return [
        Case("medical", "--steps 0", seg[:4] + ["--steps", "0", "--out", d / "out", "--images", d / "good"],
             "--steps", out=d / "out"),
        Case("medical", "--ensemble 0", seg + [d / "good", "--ensemble", "0"], "--ensemble", out=d / "out"),
        Case("medical", "--limit 0 (train)", train + ["--data", d / "hc18", "--limit", "0"], "--limit",
             out=d / "run"),
        Case("medical", "binary image", seg + [d / "binary.png"], "binary.png", out=d / "out"),
        Case("medical", "truncated PNG", seg + [d / "truncated.png"], "truncated.png", out=d / "out"),
        Case("medical", "9000 x 8000 image (bounded before decoding)", seg + [d / "huge.png"], "huge.png",
             out=d / "out"),
        Case("medical", "empty images folder", seg + [d / "emptydir"], "emptydir", out=d / "out"),
        Case("medical", "evaluate against unrelated labels (no matching ids)", ["medical", "evaluate",
             "--predictions", pred, "--labels", d / "otherlabels", "--out", d / "e.json"], "no reference",
             out=d / "e.json"),
        Case("medical", "evaluate against labels of another size", ["medical", "evaluate", "--predictions", pred,
             "--labels", d / "smalllabels", "--out", d / "e.json"], "smalllabels/p0_mask.png", out=d / "e.json"),
        Case("medical", "a crystals checkpoint (perov_5) passed to medical",
             seg[:3] + [crystals] + seg[4:] + [d / "good"],
             "not a medical model", out=d / "out"),
        Case("medical", "': ' in a path", seg + [d / "scan: 4/cut.png"], str(d / "scan: 4/cut.png"),
             out=d / "out"),
        Case("medical", "UTF-8 BOM in the HC18 CSV", train[:-1] + [d / "run_bom", "--data", d / "hc18_bom"],
             accept=True, check=trained),
        Case("medical", "--out is a file (segment)", seg[:7] + [d / "afile", "--images", d / "good"], "afile"),
        Case("medical", "--out is a file (train)", train[:-1] + [d / "afile", "--data", d / "hc18"], "afile"),
    ]


def spectra_records(n: int = 8) -> list[dict]:
    from tests.spectra.test_spectra_cli import _records

    return _records(n)


def spectra_cases(t: Path, tiny: Path, recs: list[dict]) -> list[Case]:
    s = t / "spectra"
    good = dict(recs[0])

    def jsonl(path, rows):
        return write(path, "".join((json.dumps(r) if not isinstance(r, str) else r) + "\n" for r in rows))

    ok = jsonl(s / "good.jsonl", [good])
    big = jsonl(s / "big.jsonl", [good, dict(good, id=2, formula="C20H42", num_atoms=62)])
    cut = write(s / "cut.jsonl", ok.read_text() + json.dumps(dict(good, id=2))[:300])
    write(s / "binary.jsonl", BINARY)
    write(s / "empty.jsonl", "")
    colon = write(s / "batch: 5/cut.jsonl", cut.read_text())
    bom = write(s / "bom.jsonl", b"\xef\xbb\xbf" + ok.read_bytes())
    other_ids = jsonl(s / "other_ids.jsonl", [dict(good, id=99)])
    cands = s / "cands"
    write(cands / "candidates.csv", f"id,rank,smiles,score,count\n{good['id']},1,C,1.0,2\n")
    write(cands / "samples.csv", f"id,sample,smiles\n{good['id']},0,C\n{good['id']},1,C\n")
    write(s / "afile", "x")
    write(s / "mols.smi", "C methane\n")
    data = jsonl(s / "train.jsonl", recs)
    crystals = other_model("spectra")
    el = ["spectra", "elucidate", "--checkpoint", tiny, "--num-samples", "2", "--steps", "1", "--out", s / "out",
          "--spectra"]

    def bom_ok(res):
        return (s / "out_bom" / "elucidation.json").is_file(), "elucidated the BOM file"

    return [
        Case("spectra", "--num-samples 0", el + [ok, "--num-samples", "0"], "--num-samples", out=s / "out"),
        Case("spectra", "--num-samples -5", el + [ok, "--num-samples", "-5"], "--num-samples", out=s / "out"),
        Case("spectra", "--steps 0", el[:6] + ["--steps", "0", "--out", s / "out", "--spectra", ok], "--steps",
             out=s / "out"),
        Case("spectra", "--limit 0 (simulate)", ["spectra", "simulate", "--molecules", s / "mols.smi", "--limit", "0",
             "--out", s / "sim"], "--limit", out=s / "sim"),
        Case("spectra", "--limit 0 (train)", ["spectra", "train", "--preset", "qm9-ir", "--data", data, "--limit",
             "0", "--out", s / "run"], "--limit", out=s / "run"),
        Case("spectra", "a record of more atoms than the model holds", el + [big], "big.jsonl:2", out=s / "out"),
        Case("spectra", "truncated spectra file (a partial last line)", el + [cut], "cut.jsonl:2", out=s / "out"),
        Case("spectra", "binary spectra file", el + [s / "binary.jsonl"], "binary.jsonl", out=s / "out"),
        Case("spectra", "empty spectra file", el + [s / "empty.jsonl"], "empty.jsonl", out=s / "out"),
        Case("spectra", "a crystals checkpoint (perov_5) passed to spectra", el[:3] + [crystals] + el[4:] + [ok],
             "not a spectra model", out=s / "out"),
        Case("spectra", "evaluate against unrelated truth (no matching ids)", ["spectra", "evaluate", "--candidates",
             cands, "--truth", other_ids, "--out", s / "e.json"], "matched by id", out=s / "e.json"),
        Case("spectra", "': ' in a path", el + [colon], str(colon) + ":2", out=s / "out"),
        Case("spectra", "UTF-8 BOM in a spectra file", el[:9] + [s / "out_bom", "--spectra", bom], accept=True,
             check=bom_ok),
        Case("spectra", "--out is a file (elucidate)", el[:9] + [s / "afile", "--spectra", ok], "afile"),
        Case("spectra", "--out is a file (simulate)", ["spectra", "simulate", "--molecules", s / "mols.smi", "--out",
             s / "afile"], "afile"),
        Case("spectra", "--out is a file (train)", ["spectra", "train", "--preset", "qm9-ir", "--data", data,
             "--max-steps", "1", "--out", s / "afile"], "afile"),
    ]


# --- interrupted and concurrent runs ------------------------------------------------------------------------------

@dataclass
class Sampling:
    """A small sampling run of a domain: its arguments (without --out), its index file (None: ``<stem>.json``)."""

    domain: str
    args: list
    index: str


def sampling_runs(t: Path, tiny: Optional[Path]) -> dict[str, Sampling]:
    from tests.music.test_hostile_input import _melody, _smf, _track

    write(t / "crystals" / "ok.csv", "formula,material_id\nSrTiO3,a\nBaZrO3,b\nCaTiO3,c\n")
    write(t / "music" / "melody.mid", _smf([_track([]), _track(_melody(16), "soprano")]))
    runs = {
        "graphs": Sampling("graphs", ["graphs", "sample", "--checkpoint", "qm9", "--num-samples", "8", "--steps", "4"],
                           "sampling.json"),
        "crystals": Sampling("crystals", ["crystals", "predict", "--checkpoint", "perov_5", "--steps", "4",
                                          "--num-samples", "2", "--compositions", t / "crystals" / "ok.csv"],
                             "index.csv"),
        "music": Sampling("music", ["music", "generate", "--checkpoint", "chorales", "--steps", "4",
                                    "--repair-rounds", "0", "--input", t / "music" / "melody.mid"], "melody.json"),
        "medical": Sampling("medical", ["medical", "segment", "--checkpoint", "hc18", "--steps", "2", "--images",
                                        t / "medical" / "good"], "segmentation.json"),
    }
    if tiny is not None:
        runs["spectra"] = Sampling("spectra", ["spectra", "elucidate", "--checkpoint", tiny, "--num-samples", "3",
                                               "--steps", "2", "--spectra", t / "spectra" / "good.jsonl"],
                                   "elucidation.json")
    return runs


def concurrent(run: Sampling, t: Path) -> Row:
    """Run A in a child process; once it holds OUT, run B (the same command) here into the same OUT."""
    from morphogen.utils.outputs import LOCK_NAME, temporary_files

    out = t / "concurrent" / run.domain
    args = run.args + ["--out", out]
    t0 = time.time()
    a = subprocess.Popen([sys.executable, "-c", MAIN, *map(str, args)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=child_env())
    lock = out / LOCK_NAME
    while a.poll() is None and not (lock.is_file() and lock.read_text().startswith("pid")):
        time.sleep(0.05)
    b = run_command(*map(str, args))
    a_out, a_err = a.communicate(timeout=600)
    files = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    index_ok = (out / run.index).is_file()
    temps = temporary_files(out) if out.is_dir() else []
    held = "anotherrun(pid" in _flat(b.stderr)
    ok = a.returncode == 0 and b.code == 2 and held and index_ok and not temps and not has_traceback(b)
    note = (f"A exit {a.returncode}, wrote {len([f for f in files if f != LOCK_NAME])} files with {run.index} "
            f"{'present' if index_ok else 'MISSING'}, {len(temps)} temporary files; B refused at once")
    return Row(run.domain, "two runs into one --out (concurrency)", shown(args, t) + "  (twice, at once)", b.code,
               has_traceback(b), tidy(message_line(b), t), ok, note, round(time.time() - t0, 1))


def full_disk(run: Sampling, t: Path) -> Row:
    """The sampling run with the disk full from its second output file on."""
    import pytest

    from morphogen.utils.outputs import LOCK_NAME, temporary_files
    from tests.output_faults import NO_SPACE, FullDisk

    out = t / "full_disk" / run.domain
    args = run.args + ["--out", out]
    t0 = time.time()
    disk = FullDisk(fail_at=1)
    with pytest.MonkeyPatch.context() as mp:
        disk.install(mp)
        res = run_command(*map(str, args))
    files = {p.name: p.stat().st_size for p in out.iterdir() if p.is_file() and p.name != LOCK_NAME} \
        if out.is_dir() else {}
    temps = temporary_files(out) if out.is_dir() else []
    wanted = f"error: {disk.refused}: cannot write the file ({NO_SPACE})"
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error")]
    ok = (res.code == 2 and not has_traceback(res) and errors == [wanted] and not temps
          and sorted(files) == sorted(p.name for p in disk.written) and all(files.values())
          and run.index not in files)
    note = (f"{len(files)} complete file(s) left ({', '.join(sorted(files)) or 'none'}), no {run.index}, "
            f"{len(temps)} temporary, {sum(1 for v in files.values() if v == 0)} empty")
    return Row(run.domain, "full disk (0-byte CIFs, truncated PNG/MusicXML, no index)",
               shown(args, t) + "  (ENOSPC from the 2nd file)", res.code, has_traceback(res),
               tidy(message_line(res), t), ok, note, round(time.time() - t0, 1))


def read_only(runs: dict[str, Sampling], t: Path) -> list[Row]:
    """Each sampling command into a read-only --out, all in one child process (a read-only bind mount in a private
    mount namespace when run as root, who may write into a 0o555 folder; else a 0o555 folder)."""
    ro = t / "read_only"
    ro.mkdir()
    script = ("import json, sys; sys.path.insert(0, %r); from tests.cli_runs import run_command; "
              "cases = json.loads(sys.argv[1]); print(json.dumps({k: run_command(*a).__dict__ "
              "for k, a in cases.items()}))") % str(ROOT)
    cases = {d: [str(a) for a in r.args] + ["--out", str(ro / d)] for d, r in runs.items()}
    if "graphs" in runs:  # a training's run folder too (checked before its data is read)
        cases["graphs train"] = ["graphs", "train", "--preset", "community_small", "--data",
                                 str(t / "graphs" / "neg.json"), "--out", str(ro / "graphs train")]
    for d in cases:
        (ro / d).mkdir()
    t0 = time.time()
    if os.geteuid() == 0:
        shell = f"mount --bind -o ro {ro} {ro} && exec \"$0\" \"$@\""
        cmd = ["unshare", "-m", "sh", "-c", shell, sys.executable, "-c", script, json.dumps(cases)]
        how = "read-only bind mount"
    else:
        for d in cases:
            (ro / d).chmod(0o555)
        cmd = [sys.executable, "-c", script, json.dumps(cases)]
        how = "folder mode 0o555"
    r = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), timeout=600)
    secs = (time.time() - t0) / max(1, len(cases))
    try:
        done = json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return [Row("core", "read-only --out", "(could not run)", r.returncode, True, r.stderr[-300:], False)]
    rows = []
    for d, o in done.items():
        res = Outcome(**o)
        empty = not any((ro / d).iterdir())
        ok = res.code == 2 and not has_traceback(res) and names(res, str(ro / d)) and "--out" in res.stderr and empty
        case = ("--out read-only (train)" if d.endswith(" train")
                else "--out read-only (found only after all the sampling)")
        rows.append(Row(d.split()[0], case, shown(cases[d], t) + f"  ({how})",
                        res.code, has_traceback(res), tidy(message_line(res), t), ok,
                        "refused before any work (model, data)" if ok else "", round(secs, 1)))
    return rows


@dataclass
class Training:
    domain: str
    args: list


def trainings(t: Path) -> dict[str, Training]:
    from tests.crystals.test_hostile_input import _cdvae, _cif

    g = t / "sigterm"
    write(g / "graphs.json", graphs_json(*[OK_GRAPH] * 40))
    cr = g / "crystals"
    cr.mkdir(parents=True)
    lengths = [(3.9, 3.9, 3.9), (4.0, 4.0, 4.0), (4.1, 4.1, 4.1), (3.95, 3.95, 3.95)]
    _cdvae(cr / "train.csv", [(f"t{i}", _cif(lengths=x)) for i, x in enumerate(lengths * 2)])
    _cdvae(cr / "val.csv", [("v0", _cif()), ("v1", _cif(lengths=(4.05,) * 3))])
    write(g / "music.json", json.dumps(music_prepared()))
    return {
        "graphs": Training("graphs", ["graphs", "train", "--preset", "community_small", "--data", g / "graphs.json"]),
        "crystals": Training("crystals", ["crystals", "train", "--preset", "perov_5", "--data", cr]),
        "music": Training("music", ["music", "train", "--preset", "chorales", "--data", g / "music.json",
                                    "--d-model", "32", "--layers", "1", "--heads", "2"]),
        "medical": Training("medical", ["medical", "train", "--preset", "hc18", "--data", t / "medical" / "hc18",
                                        "--batch-size", "2"]),
        "spectra": Training("spectra", ["spectra", "train", "--preset", "qm9-ir", "--data",
                                        t / "spectra" / "train.jsonl", "--batch-size", "4"]),
    }


def music_prepared() -> dict:
    """A prepared chorales file of three four-part pieces (two for training, one for validation)."""
    def piece(k: int) -> dict:
        tracks = []
        for j, (name, base) in enumerate((("soprano", 72), ("alto", 67), ("tenor", 60), ("bass", 48))):
            pitches = [base + (i * (k + j + 1)) % 7 for i in range(16)]
            tracks.append({"name": name, "program": 52, "is_drum": False, "onset": [4 * i for i in range(16)],
                           "pitch": pitches, "duration": [4] * 16})
        return {"source": f"made{k}", "time_signature": [4, 4], "report": {}, "tracks": tracks}

    from morphogen.music.data.prepared import FORMAT

    return {"format": FORMAT, "preset": "chorales", "tracks": ["soprano", "alto", "tenor", "bass"],
            "splits": {"train": [piece(0), piece(1)], "val": [piece(2)]}}


def sigterm(run: Training, t: Path, after: float = 10.0) -> Row:
    """Start the training and send SIGTERM ``after`` seconds into its fit (Lightning's progress bar is drawn only at
    the end when the output is not a terminal, so the start of the fit is read from Lightning's "GPU available" line,
    printed as the Trainer is built). The rule: a last checkpoint, a message, a non-zero exit, no model file (a
    stopped run resumes; it exports nothing)."""
    out = t / "sigterm" / f"run-{run.domain}"
    args = run.args + ["--max-steps", "100000", "--out", out]
    t0 = time.time()
    p = subprocess.Popen([sys.executable, "-c", MAIN, *map(str, args)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=child_env())
    streams = {"out": bytearray(), "err": bytearray()}

    def read(fh, buf):
        for chunk in iter(lambda: fh.read1(4096), b""):
            buf.extend(chunk)

    readers = [threading.Thread(target=read, args=(fh, streams[k]), daemon=True)
               for fh, k in ((p.stdout, "out"), (p.stderr, "err"))]
    for r in readers:
        r.start()
    deadline = time.time() + 300
    while p.poll() is None and time.time() < deadline and b"GPU available" not in streams["err"]:
        time.sleep(0.2)
    fit_started = time.time()
    while p.poll() is None and time.time() < fit_started + after:
        time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=180)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    for r in readers:
        r.join(timeout=10)
    text = streams["out"].decode(errors="replace")
    res = Outcome(p.returncode, text, streams["err"].decode(errors="replace"))
    msg = next((ln for ln in text.splitlines() if "stopped by SIGTERM" in ln), "")
    ckpt = out / "run" / "checkpoints" / "last.ckpt"
    model = (out / "model.safetensors").exists()
    ok = p.returncode not in (0, None) and bool(msg) and ckpt.is_file() and not model and not has_traceback(res)
    note = f"SIGTERM {after:.0f} s into the fit; last.ckpt {'written' if ckpt.is_file() else 'MISSING'}, " + \
        ("a model file was written" if model else "no model.safetensors")
    return Row(run.domain, "SIGTERM during train (exited 0, no model, no message)", shown(args, t) + "  (SIGTERM)",
               p.returncode, has_traceback(res), tidy(msg, t), ok, note, round(time.time() - t0, 1))


def checkpoint_frequency(t: Path) -> Row:
    """A one-batch-per-epoch training of 30 steps: how many times it writes last.ckpt (it wrote one per step)."""
    import pytest

    from morphogen.train import trainer as trainer_module

    data = write(t / "ckpt" / "g.json", graphs_json(*[OK_GRAPH] * 12))
    out = t / "ckpt" / "run"
    args = ["graphs", "train", "--preset", "community_small", "--data", data, "--max-steps", "30", "--out", out]
    written = []
    save = trainer_module.AtomicCheckpointIO.save_checkpoint

    def counted(self, checkpoint, path, storage_options=None):
        written.append(int(checkpoint["global_step"]))
        return save(self, checkpoint, path, storage_options)

    t0 = time.time()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(trainer_module.AtomicCheckpointIO, "save_checkpoint", counted)
        res = run_command(*map(str, args))
    ckpt = out / "run" / "checkpoints" / "last.ckpt"
    size = ckpt.stat().st_size / 1e6 if ckpt.is_file() else 0
    ok = res.code == 0 and len(written) <= 2 and ckpt.is_file()
    return Row("graphs", "one batch per epoch: checkpoint frequency (last.ckpt at every step)", shown(args, t),
               res.code, has_traceback(res), tidy(message_line(res), t), ok,
               f"{len(written)} checkpoint write(s) in 30 one-batch epochs (at steps {written}), {size:.2f} MB each",
               round(time.time() - t0, 1))


def debug_shows_traceback(t: Path) -> Row:
    """MORPHOGEN_DEBUG=1 shows the traceback of a refusal (the issue: '--debug or an environment variable')."""
    args = ["graphs", "evaluate", "--samples", t / "graphs" / "empty", "--reference", "qm9"]
    os.environ["MORPHOGEN_DEBUG"] = "1"
    try:
        t0 = time.time()
        from morphogen.cli.main import main  # run_command pops MORPHOGEN_DEBUG: run main here
        import contextlib
        import io
        import traceback

        err = io.StringIO()
        code = 0
        argv, sys.argv = sys.argv, ["morphogen", *map(str, args)]
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception:  # noqa: BLE001  (the traceback the user asked for)
            err.write(traceback.format_exc())
            code = 1
        finally:
            sys.argv = argv
    finally:
        os.environ.pop("MORPHOGEN_DEBUG", None)
    text = err.getvalue()
    last = [ln for ln in text.splitlines() if ln.strip()][-1:] or [""]
    ok = "Traceback" in text and code != 0
    return Row("core", "MORPHOGEN_DEBUG=1 shows the traceback of a refusal", "MORPHOGEN_DEBUG=1 " + shown(args, t),
               code, "Traceback" in text, tidy(last[0], t), ok, "the traceback is printed",
               round(time.time() - t0, 1))


def core_demo_out_is_file(t: Path) -> Case:
    write(t / "core" / "afile", "x")
    return Case("core", "--out is a file (morphogen demo)",
                ["demo", "--domains", "core", "--out", t / "core" / "afile"],
                "afile")


# --- the report ---------------------------------------------------------------------------------------------------

def train_tiny_spectra(t: Path) -> tuple[Optional[Path], list[dict]]:
    recs = spectra_records(8)
    data = write(t / "spectra" / "tiny.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    res = run_command("spectra", "train", "--preset", "qm9-ir", "--data", str(data), "--max-steps", "1",
                      "--batch-size", "4", "--out", str(t / "spectra" / "tiny"))
    if res.code != 0:
        print(res.stderr[-3000:], file=sys.stderr)
        return None, recs
    return t / "spectra" / "tiny", recs


def write_report(rows: list[Row], seconds: float, machine: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    met = sum(r.meets_rule for r in rows)
    cmd = machine.get("command", "python scripts/hostile_input_report.py")
    lines = [f"Produced by `OMP_NUM_THREADS=1 {cmd}` ({time.strftime('%Y-%m-%d')}, {seconds:.0f} s).", "",
             "# Hostile input and interrupted runs (issue 15)", "",
             f"{met} of {len(rows)} cases meet the rule: one line naming the culprit (file, record or option), a "
             "non-zero exit, no traceback, no partial output; the successes the issue asks for (a BOM, "
             "`--skip-invalid`, the checkpoint frequency) and the interrupted and concurrent runs say in the note "
             "what was checked. `$T` is the temporary folder the inputs were written to.", "",
             "| domain | case | command | exit | traceback | message | meets rule | note |",
             "|---|---|---|---|---|---|---|---|"]

    def cell(s) -> str:
        return str(s).replace("|", "\\|").replace("\n", " ")

    for r in rows:
        lines.append(f"| {r.domain} | {cell(r.case)} | `{cell(r.command)}` | {r.exit_code} | "
                     f"{'yes' if r.traceback else 'no'} | {cell(r.message)} | {'yes' if r.meets_rule else 'NO'} | "
                     f"{cell(r.note)} |")
    lines += ["", f"Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, torch "
              f"{machine.get('torch', '?')}, Python {machine.get('python', '?')}."]
    (RESULTS / "hostile_input.md").write_text("\n".join(lines) + "\n")
    doc = {"machine": machine, "seconds": round(seconds, 1), "met": met, "cases": len(rows),
           "rows": [asdict(r) for r in rows]}
    (RESULTS / "hostile_input.json").write_text(json.dumps(doc, indent=1) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", choices=DOMAINS, help="only these domains (the report is then partial)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--no-write", action="store_true", help="print the rows, write no report")
    ap.add_argument("--cases-only", action="store_true", help="only the one-command cases (no SIGTERM, concurrency, "
                    "full disk, read-only folder, checkpoint count); the report is then partial")
    a = ap.parse_args()
    want = set(a.only or DOMAINS)
    from _machine import machine_info

    machine = machine_info()
    t = Path(tempfile.mkdtemp(prefix="hostile15-"))
    rows: list[Row] = []
    t0 = time.time()

    def add(row: Row) -> None:
        rows.append(row)
        mark = "ok " if row.meets_rule else "NO "
        print(f"{mark} {row.seconds:6.1f}s {row.domain:8s} {row.case}: exit {row.exit_code}; {row.message[:150]}"
              + (f"  [{row.note}]" if row.note and not row.meets_rule else ""), flush=True)

    try:
        with Env():
            tiny, recs = train_tiny_spectra(t)  # the inputs of every domain are written (some share them)
            cases = [core_demo_out_is_file(t), *graphs_cases(t), *crystals_cases(t), *music_cases(t),
                     *medical_cases(t), *(spectra_cases(t, tiny, recs) if tiny is not None else [])]
            cases = [c for c in cases if c.domain in want]
            for c in cases:
                add(run_case(c, t))
            if "core" in want:
                add(debug_shows_traceback(t))
            if a.cases_only:
                want = set()
            if "graphs" in want:
                add(checkpoint_frequency(t))
            runs = {d: r for d, r in sampling_runs(t, tiny).items() if d in want}
            for r in runs.values():
                add(concurrent(r, t))
            for r in runs.values():
                add(full_disk(r, t))
            for row in read_only(runs, t):
                add(row)
            jobs = [r for d, r in trainings(t).items() if d in want and (d != "spectra" or tiny is not None)]
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:  # child processes, side by side
                for row in pool.map(lambda r: sigterm(r, t), jobs):
                    add(row)
    finally:
        if a.keep:
            print(f"inputs and outputs kept in {t}")
        else:
            shutil.rmtree(t, ignore_errors=True)
    secs = time.time() - t0
    met = sum(r.meets_rule for r in rows)
    print(f"{met} of {len(rows)} cases meet the rule ({secs:.0f} s)")
    if not (a.no_write or a.only or a.cases_only):
        write_report(rows, secs, machine)
        print(f"wrote {RESULTS / 'hostile_input.md'} and .json")
    sys.exit(0 if met == len(rows) else 1)


if __name__ == "__main__":
    main()
