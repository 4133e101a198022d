"""Rewrite the shipped graphs model ``qm9`` (a pre-bundle file) as a model bundle with identical weights, its
measured-best default sampler and the facts its old file did not hold. Run once from the repository root:

    python scripts/convert_graphs_qm9.py [SRC] [DST]      # default: the shipped file, in place

Users' own older files need no conversion: ``morphogen.bundle.load`` reads them through
``morphogen.graphs.legacy.upgrade_config``; ``morphogen.graphs.legacy.convert_file`` rewrites any of them.
"""
from __future__ import annotations

import sys
from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[1] / "domains" / "morphogen" / "graphs" / "checkpoints" / "qm9.safetensors"
NOTES = {
    "trained": "GDSS QM9 preset, 29 epochs (3,388 steps of 1,024 molecules) in 3.4 minutes on one H200 from a "
               "prepared file (scripts/gpu/train_shipped.sh)",
    "default_sampler": "S4 with GDSS's QM9 settings (snr 0.2, scale_eps 0.7, score-norm Langevin step) at 200 steps, "
                       "measured best in benchmarks/results/graphs_qm9.md (10,000 samples, whole GDSS test split: "
                       "validity without correction 0.9686, uniqueness 0.9633, novelty 0.8435, NSPDK MMD 0.0072, "
                       "FCD 3.87)",
}


def main() -> None:
    from morphogen.graphs.legacy import convert_file

    src = Path(sys.argv[1]) if len(sys.argv) > 1 else SHIPPED
    dst = Path(sys.argv[2]) if len(sys.argv) > 2 else src
    print("wrote", convert_file(src, dst, sampler="s4:steps=200", steps_trained=3388, notes=NOTES))


if __name__ == "__main__":
    main()
