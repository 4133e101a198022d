"""The molecules of the computed-IR QM9 set (issue 13), in the order `morphogen spectra simulate` computes them:
the first 2,000 GDSS QM9 test molecules that qm9pack has (valid_idx_qm9.json: 0-based rows of the standard QM9
CSV, gdb = row + 1) and 18,000 training molecules drawn with numpy.random.default_rng(0) from the qm9pack
molecules outside the GDSS test indices, interleaved one test molecule to nine training ones (so that a partly
built set can already be trained on and tested). Writes a JSON list of gdb numbers:

    python scripts/spectra/qm9_ir_indices.py runs/qm9_ir/indices.json
    morphogen spectra simulate --molecules qm9 --indices runs/qm9_ir/indices.json --workers 2 --out runs/qm9_ir/out
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def main(out: str, n_test: int = 2000, n_train: int = 18000, seed: int = 0) -> None:
    from morphogen.molecules.qm9 import read_qm9
    from morphogen.utils.resources import data_root

    have = {r.index + 1 for r in read_qm9()}  # gdb numbers (QM9Record.index is the 0-based row id)
    gdss = data_root() / "graphs" / "molecules" / "valid_idx_qm9.json"
    test = [int(x) + 1 for x in json.loads(gdss.read_text())["valid_idxs"]]
    test_have = [g for g in test if g in have]
    pool = sorted(g for g in have if g not in set(test))
    train = np.random.default_rng(seed).choice(pool, n_train, replace=False).tolist()  # random order: any prefix is a sample
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    tests = test_have[:n_test]
    order, ti, ri = [], 0, 0
    while ti < len(tests) or ri < len(train):
        if ti < len(tests):
            order.append(tests[ti])
            ti += 1
        order.extend(train[ri:ri + 9])
        ri += 9
    Path(out).write_text(json.dumps(order))
    print(f"{out}: {min(n_test, len(test_have))} test + {len(train)} training molecules "
          f"({len(test) - len(test_have)} GDSS test molecules are not in qm9pack)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/qm9_ir/indices.json")
