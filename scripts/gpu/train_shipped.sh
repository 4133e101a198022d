#!/usr/bin/env bash
# Train the shipped checkpoints on one GPU, every run at once (each a process sharing the card), then sample the
# QM9 model there. Run from the repository root on a machine with torch, lightning, typer, safetensors and pyyaml
# (no RDKit, pymatgen or music21 needed: the data come prepared, see `morphogen <domain> prepare`).
#
#   MINUTES=6.5 OUT=/path/for/results bash scripts/gpu/train_shipped.sh
#
# Inputs (written on a machine with the domain libraries, by scripts/gpu/prepare_inputs.sh): runs/prep/*.
# The crystals presets there (runs/prep/*_gpu.yaml) follow the one preset schema (denoiser:, variants:, a typed
# train: block; see domains/morphogen/crystals/presets/perov_5.yaml): a file still in the old schema (model:,
# processes:) is refused with an error naming the file and the key.
# Outputs in $OUT: each run's EMA weights as float16 safetensors (<run>.safetensors), logs.tar.gz (logs + metrics),
# and qm9_samples.safetensors (raw QM9 samples of several samplers, evaluated elsewhere with RDKit).
set -u
MINUTES=${MINUTES:-6.5}
ACCEL=${ACCEL:-gpu}
MUSIC_PRECISION=${MUSIC_PRECISION:-bf16}
OUT=${OUT:-runs/gpu_out}
RUNS=runs/gpu
mkdir -p "$OUT" "$RUNS"
python3 scripts/gpu/entry_points.py runs/entry_points > /dev/null  # domains, models and samplers by name, uninstalled
export PYTHONPATH="$PWD/shared:$PWD/domains:$PWD/runs/entry_points${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 \
       MORPHOGEN_THREADS=1 PYTHONWARNINGS=ignore
LIMIT=$(python3 -c "print(int(float('$MINUTES') * 60 + 45))")
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$RUNS/gpu.txt" 2>&1
python3 -c "import torch, lightning; print('torch', torch.__version__, 'lightning', lightning.__version__, torch.cuda.get_device_name())" >> "$RUNS/gpu.txt" 2>&1

job() {  # job NAME MODULE ARGS...: one training in the background, its log in $RUNS/NAME.log
  local name=$1; shift
  ( start=$(date +%s); timeout "$LIMIT" python3 -m "$@" > "$RUNS/$name.log" 2>&1; rc=$?
    echo "exit $rc after $(( $(date +%s) - start )) s" >> "$RUNS/$name.log" ) &
}
C="morphogen.crystals.cli train --data runs/prep/perov_5.json.gz --accelerator $ACCEL --max-minutes $MINUTES --num-workers 2"
job perov_bfn $C --preset runs/prep/perov_5_gpu.yaml --process bfn --out $RUNS/perov_bfn
job perov_bfn_unit $C --preset runs/prep/perov_5_gpu_unit.yaml --process bfn --out $RUNS/perov_bfn_unit
job perov_diffusion $C --preset runs/prep/perov_5_gpu.yaml --process diffusion --out $RUNS/perov_diffusion
job perov_flow $C --preset runs/prep/perov_5_gpu.yaml --process flow --out $RUNS/perov_flow
job carbon_bfn_unit morphogen.crystals.cli train --data runs/prep/carbon_24.json.gz --accelerator $ACCEL \
    --max-minutes $MINUTES --num-workers 2 --preset runs/prep/carbon_24_gpu.yaml --process bfn --out $RUNS/carbon_bfn_unit
job qm9 morphogen.graphs.cli train --preset qm9 --data runs/prep/qm9.safetensors --out $RUNS/qm9 \
    --accelerator $ACCEL --max-minutes $MINUTES --num-workers 2
job chorales morphogen.music.cli train --preset chorales_gpu --data runs/prep/chorales.json.gz --out $RUNS/chorales \
    --accelerator $ACCEL --devices 1 --precision $MUSIC_PRECISION --max-minutes $MINUTES --num-workers 4
wait
echo "trainings done at $(date)"
timeout 60 python3 scripts/gpu/sample_graphs.py $RUNS/qm9/model.safetensors "$OUT/qm9_samples.safetensors" --num 10000 \
    > "$RUNS/qm9_sampling.log" 2>&1 || echo "qm9 sampling failed" >> "$RUNS/qm9_sampling.log"
python3 - "$RUNS" "$OUT" <<'PY'
import sys, pathlib, json
from safetensors.torch import load_file, save_file
from safetensors import safe_open
runs, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for m in sorted(runs.glob("*/model.safetensors")):
    with safe_open(str(m), "pt") as fh:
        meta = fh.metadata()
    w = {k: (v.half() if v.is_floating_point() and v.numel() >= 4096 else v).contiguous()
         for k, v in load_file(str(m)).items()}
    save_file(w, str(out / f"{m.parent.name}.safetensors"), metadata=meta)
    print("exported", m.parent.name, sum(v.numel() for v in w.values()), "parameters")
PY
tar czf "$OUT/logs.tar.gz" "$RUNS"/*.log "$RUNS"/gpu.txt "$RUNS"/*/run/logs "$RUNS"/*/logs 2>/dev/null
ls -la "$OUT"
