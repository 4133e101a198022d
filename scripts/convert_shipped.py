"""How the shipped models were rewritten as model bundles (identical weights), with their measured-best default
samplers and the facts their old files did not hold. Run from the repository root on files of the pre-bundle
format (the shipped files are already converted; running it on them changes nothing but the notes):

    python scripts/convert_shipped.py [NAME ...]       # qm9 chorales (default: both)

Users' own older files need no conversion: ``morphogen.bundle.load`` reads them through each domain's legacy hook;
``morphogen.bundle.convert_file`` rewrites any of them. (perov_5 and carbon_24 were converted the same way, keeping
their samplers; their notes are in the files.)
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "domains" / "morphogen"
SHIPPED = {
    "qm9": dict(
        path=ROOT / "graphs" / "checkpoints" / "qm9.safetensors", domain="graphs", sampler="s4:steps=200",
        steps_trained=3388,
        notes={"trained": "GDSS QM9 preset, 29 epochs (3,388 steps of 1,024 molecules) in 3.4 minutes on one H200 "
                          "from a prepared file (scripts/gpu/train_shipped.sh)",
               "default_sampler": "S4 with GDSS's QM9 settings (snr 0.2, scale_eps 0.7, score-norm Langevin step) at "
                                  "200 steps, measured best in benchmarks/results/graphs_qm9.md (10,000 samples, "
                                  "whole GDSS test split: validity without correction 0.9686, uniqueness 0.9633, "
                                  "novelty 0.8435, NSPDK MMD 0.0072, FCD 3.87)"}),
    "chorales": dict(
        path=ROOT / "music" / "checkpoints" / "chorales.safetensors", domain="music",
        sampler="unmask:steps=50,order=confidence,choice_noise=4.5", steps_trained=4124,
        fields={"repair": {"rounds": 16, "steps": 4, "context": 1, "constrain": True}},
        notes={"trained": "chorales_gpu preset, 4,124 steps of 128 8-bar crops in 3.4 minutes on one H200 "
                          "(scripts/gpu/train_shipped.sh); float16 weights for shipping",
               "default_sampler": "confidence-ordered unmasking with MaskGIT's choice noise 4.5 at 50 steps, then "
                                  "16 parallel-repair rounds of 4 evaluations, the last one rule-constrained: the "
                                  "setting that meets the voice-leading bar on all 36 held-out chorales and three "
                                  "seeds (benchmarks/results/music_heldout.md)"}),
}


def main() -> None:
    from morphogen.bundle import convert_file
    from morphogen.utils.config import spec_of

    for name in sys.argv[1:] or list(SHIPPED):
        c = SHIPPED[name]
        fields = dict(c.get("fields", {}))
        sampler = c["sampler"]
        if c["domain"] == "music":  # the GETScore rule (pitch before duration) is part of music's unmasking sampler
            from morphogen.music.models.unmask import GETScoreRule
            from morphogen.samplers.spec import SamplerSpec

            spec = SamplerSpec.parse(sampler)
            sampler = SamplerSpec(spec.name, {**spec.args, "rule": spec_of(GETScoreRule())})
        print("wrote", convert_file(c["path"], c["path"], domain=c["domain"], sampler=sampler,
                                    steps_trained=c["steps_trained"], notes=c["notes"], **fields))


if __name__ == "__main__":
    main()
