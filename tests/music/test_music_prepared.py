"""Prepared training data (plain JSON, no music21 on the training path), the draw sampler with DataLoader workers,
and the --max-minutes / --num-workers training options."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap

import pytest
import torch

from morphogen.music.data import FIELD, GETScoreDataset, MusicDataError
from morphogen.music.data.dataset import DrawSampler
from morphogen.music.data.prepared import load_prepared, save_prepared
from .music_helpers import VOICES, _model, _scores


def test_prepared_roundtrip_and_gzip(tmp_path):
    scores = _scores(3)
    for name in ("p.json", "p.json.gz"):
        path = save_prepared(tmp_path / name, scores[:2], scores[2:], "chorales", VOICES)
        tr, va, head = load_prepared(path, VOICES)
        assert [s.tracks for s in tr] == [s.tracks for s in scores[:2]] and va[0].tracks == scores[2].tracks
        assert tr[0].source == "toy0" and tr[0].time_signature == (4, 4) and head["preset"] == "chorales"
    assert json.loads(gzip.decompress((tmp_path / "p.json.gz").read_bytes()))["splits"]["val"][0]["source"] == "toy2"


def test_prepared_validation_names_file_and_record(tmp_path):
    path = save_prepared(tmp_path / "p.json", _scores(2), [], "chorales", VOICES)
    doc = json.loads(path.read_text())
    doc["splits"]["train"][1]["tracks"][2]["pitch"][3] = 130
    path.write_text(json.dumps(doc))
    with pytest.raises(MusicDataError, match=r"p\.json: train\[1\] \(toy1\): track 'tenor', note 3, pitch"):
        load_prepared(path)
    doc["splits"]["train"][1]["tracks"][2]["duration"].pop()
    path.write_text(json.dumps(doc))
    with pytest.raises(MusicDataError, match="equal length"):
        load_prepared(path)
    path.write_text("{not json")
    with pytest.raises(MusicDataError, match=r"p\.json: not a readable prepared JSON"):
        load_prepared(path)
    path.write_text(json.dumps({"format": "other"}))
    with pytest.raises(MusicDataError, match="not a prepared music data file"):
        load_prepared(path)
    ok = save_prepared(tmp_path / "q.json", _scores(1), [], "chorales", VOICES)
    with pytest.raises(MusicDataError, match="preset has tracks"):
        load_prepared(ok, ["soprano", "bass"])
    with pytest.raises(MusicDataError, match="no such prepared"):
        load_prepared(tmp_path / "missing.json")


def test_draw_sampler_gives_new_crops_per_epoch_with_workers():
    scores = _scores(3)
    _, vocab = _model(scores)
    ds = GETScoreDataset(scores, vocab, VOICES, 16, range(-1, 2), 4, True, None, 0.2, 5)
    sampler = DrawSampler(len(ds), seed=1)

    def epoch(e, workers):
        sampler.set_epoch(e)
        dl = torch.utils.data.DataLoader(ds, batch_size=4, sampler=sampler, num_workers=workers)
        return [(b["fields"][FIELD], b["masks"][FIELD]) for b in dl]

    first, second = epoch(0, 2), epoch(1, 2)
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(first, epoch(0, 0)))
    same = sum(torch.equal(a[0], b[0]) for a, b in zip(first, second))
    assert same < len(first)  # new crops / transpositions / targets in the next epoch
    x0 = torch.cat([f for f, _ in first]).flatten(1)
    assert len({tuple(r.tolist()) for r in x0}) > len(x0) // 2  # workers do not repeat each other's items


TRAIN_SCRIPT = """
import sys, json
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "music21" or name.startswith("music21."):
            raise ImportError("music21 blocked by the test")
sys.meta_path.insert(0, Block())
import torch
torch.set_num_threads(1)
from morphogen.music.cli import app
args = ["train", "--preset", "chorales", "--data", sys.argv[1], "--out", sys.argv[2], "--batch-size", "4",
        "--d-model", "32", "--layers", "1", "--heads", "2", "--accelerator", "cpu", "--devices", "1"] + sys.argv[3:]
try:
    app(args, standalone_mode=False)
finally:
    print(json.dumps({"music21": any(m.split(".")[0] == "music21" for m in sys.modules)}))
"""


def _train(tmp_path, data, out, *extra):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(TRAIN_SCRIPT))
    res = subprocess.run([sys.executable, str(script), str(data), str(out), *extra], capture_output=True, text=True,
                         timeout=240, env={**__import__("os").environ, "MORPHOGEN_THREADS": "1"})
    return res


def test_train_on_prepared_file_without_music21(tmp_path):
    from morphogen.music.models.bundle import MusicModel

    data = save_prepared(tmp_path / "few.json.gz", _scores(3), _scores(1), "chorales", VOICES)
    res = _train(tmp_path, data, tmp_path / "run", "--max-steps", "3", "--num-workers", "1")
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads(res.stdout.strip().splitlines()[-1]) == {"music21": False}
    assert "trained 3 steps" in res.stdout
    model = MusicModel.load(tmp_path / "run" / "model.safetensors")
    assert model.track_names == VOICES
    # --max-minutes ends a run whose --max-steps is far away, and the model is still exported
    res = _train(tmp_path, data, tmp_path / "timed", "--max-steps", "100000", "--max-minutes", "0.01")
    assert res.returncode == 0, res.stderr[-3000:]
    steps = int(res.stdout.split("trained ")[1].split()[0])
    assert 0 < steps < 100000 and (tmp_path / "timed" / "model.safetensors").is_file()


def test_train_names_the_bad_prepared_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "morphogen.music.prepared/1", "tracks": VOICES,
                               "splits": {"train": [{"source": "x", "tracks": "nope"}], "val": []}}))
    from morphogen.music.training import load_preset, load_training_data

    with pytest.raises(MusicDataError, match=r"bad\.json: train\[0\] \(x\): tracks"):
        load_training_data(load_preset("chorales"), bad)


@pytest.mark.parametrize("order", ["confidence", "random"])
def test_ordered_unmasking_keeps_sources_and_rows_consistent(order):
    from morphogen.music.data import GETScore, decode
    from morphogen.music.evaluation import batch_grids

    scores = _scores(2)
    model, vocab = _model(scores)
    g, lengths, _ = batch_grids(model, scores)
    for temperature, noise in ((1.0, 0.0), (0.7, 2.0)):
        res = model.generate(g, ["alto", "bass"], steps=6, seed=1, lengths=lengths, order=order,
                             temperature=temperature, choice_noise=noise)
        assert res.nfe == 6 and torch.equal(res.tokens[:, [0, 1, 4, 5]], g[:, [0, 1, 4, 5]])
        assert (res.tokens < len(vocab)).all()
        for i in range(2):
            dec = decode(GETScore(res.tokens[i].numpy(), model.track_names), vocab)
            assert dec.missing_durations == 0 and dec.orphan_durations == 0
    with pytest.raises(ValueError, match="temperature"):
        model.generate(g, ["alto"], steps=2, order=order, temperature=0.0)


def test_getscore_rule_pitch_before_duration():
    """One track (rows 0 pitch, 1 duration), three columns: pitch shown as a note / shown as <empty> / masked."""
    from morphogen.music.data.vocabulary import EMPTY
    from morphogen.music.models.unmask import NEG, GETScoreRule

    v, mask_id, note = 6, 6, 3
    x = torch.tensor([[[note, EMPTY, mask_id], [mask_id, mask_id, mask_id]]])
    masked = x == mask_id
    rule = GETScoreRule("score")
    forced = rule.forced("score", x, masked)
    assert forced.cells.tolist() == [[[False, False, False], [False, True, False]]]  # <empty> under <empty>
    assert int(forced.values[0, 1, 1]) == EMPTY
    # a duration is eligible once its pitch shows (under <empty> the sampler forces it before asking)
    assert rule.eligible("score", x, masked).tolist() == [[[False, False, True], [True, True, False]]]
    logits = torch.zeros(1, 2, 3, v)
    out = rule.restrict("score", x, masked, logits)
    assert out[0, 1, 0, EMPTY] == NEG and (out[0, 1, 0, 2:] == 0).all()  # a note's duration is not <empty>
    assert out[0, 1, 1, EMPTY] == 0 and (out[0, 1, 1, 2:] == NEG).all()  # under <empty> only <empty>
    assert (out[0, 1, 2] == 0).all() and (out[0, 0] == 0).all()  # unknown pitch: no restriction; pitch rows free
    assert rule.forced("other", x, masked) is None and rule.restrict("other", x, masked, logits) is logits


def test_cli_sampling_options(tmp_path):
    from typer.testing import CliRunner

    from morphogen.music.cli import app

    model, _ = _model(_scores(2))
    ckpt = model.save(tmp_path / "tiny.safetensors")
    res = CliRunner().invoke(app, ["generate", "--checkpoint", str(ckpt), "--bars", "1", "--steps", "3", "--order",
                                   "confidence", "--temperature", "0.8", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert '"sampler": "unmask"' in res.output and '"order": "confidence"' in res.output
    assert '"missing_durations": 0' in res.output and '"temperature": 0.8' in res.output
    bad = CliRunner().invoke(app, ["generate", "--checkpoint", str(ckpt), "--order", "greedy", "--out", str(tmp_path)])
    assert bad.exit_code != 0 and "greedy" in bad.output
    helptext = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    assert helptext.exit_code == 0 and "--max-minutes" in helptext.output and "--num-workers" in helptext.output
