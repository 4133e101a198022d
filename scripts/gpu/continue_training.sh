#!/usr/bin/env bash
# Continue the two models that miss their bars for lack of training (QM9 GDSS, Perov-5 CSP flow) on one GPU, both
# runs at once, starting from the given weights (fresh optimiser). Run from the repository root on a machine with
# torch, lightning, typer, safetensors and pyyaml; the data come prepared (runs/prep, `morphogen <domain> prepare`).
# runs/prep/perov_5_gpu.yaml is a crystals preset in the one preset schema (denoiser:, variants:); --init-from takes
# the start model's weights and its lattice codec (task, process family and network must match).
#
#   MINUTES=9 QM9_FROM=runs/qm9_cpu2/model.safetensors PEROV_FROM=runs/perov_flow_ft/model.safetensors \
#       OUT=/path/for/results bash scripts/gpu/continue_training.sh
#
# Outputs in $OUT: qm9.safetensors and perov_flow.safetensors (EMA weights, float32: evaluate, then export to
# float16 for shipping with the same metadata), logs.tar.gz, and qm9_samples.safetensors (10,000 samples per
# sampler of the continued QM9 model, for benchmarks/graphs_qm9.py --tensors).
set -u
MINUTES=${MINUTES:-9}
ACCEL=${ACCEL:-gpu}
OUT=${OUT:-runs/gpu_out}
QM9_FROM=${QM9_FROM:-qm9}
PEROV_FROM=${PEROV_FROM:-perov_5}
QM9_LR=${QM9_LR:-0.003}
PEROV_LR=${PEROV_LR:-0.0005}
RUNS=runs/gpu_continue
mkdir -p "$OUT" "$RUNS"
python3 scripts/gpu/entry_points.py runs/entry_points > /dev/null  # domains, models and samplers by name, uninstalled
export PYTHONPATH="$PWD/shared:$PWD/domains:$PWD/runs/entry_points${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 \
       MORPHOGEN_THREADS=1 PYTHONWARNINGS=ignore
LIMIT=$(python3 -c "print(int(float('$MINUTES') * 60 + 45))")
nvidia-smi --query-gpu=name,memory.total --format=csv > "$RUNS/gpu.txt" 2>&1

job() {  # job NAME MODULE ARGS...: one training in the background, its log in $RUNS/NAME.log
  local name=$1; shift
  ( start=$(date +%s); timeout "$LIMIT" python3 -m "$@" > "$RUNS/$name.log" 2>&1; rc=$?
    echo "exit $rc after $(( $(date +%s) - start )) s" >> "$RUNS/$name.log" ) &
}
job qm9 morphogen.graphs.cli train --preset qm9 --data runs/prep/qm9.safetensors --out $RUNS/qm9 \
    --accelerator $ACCEL --max-minutes $MINUTES --num-workers 2 --init-from "$QM9_FROM" --lr $QM9_LR
job perov_flow morphogen.crystals.cli train --data runs/prep/perov_5.json.gz --accelerator $ACCEL \
    --max-minutes $MINUTES --num-workers 2 --preset runs/prep/perov_5_gpu.yaml --process flow \
    --out $RUNS/perov_flow --init-from "$PEROV_FROM" --lr $PEROV_LR
wait
echo "trainings done at $(date)"
cp $RUNS/qm9/model.safetensors "$OUT/qm9.safetensors"
cp $RUNS/perov_flow/model.safetensors "$OUT/perov_flow.safetensors"
timeout 60 python3 scripts/gpu/sample_graphs.py $RUNS/qm9/model.safetensors "$OUT/qm9_samples.safetensors" --num 10000 \
    > "$RUNS/qm9_sampling.log" 2>&1 || echo "qm9 sampling failed" >> "$RUNS/qm9_sampling.log"
tar czf "$OUT/logs.tar.gz" "$RUNS"/*.log "$RUNS"/gpu.txt "$RUNS"/*/run/logs 2>/dev/null
ls -la "$OUT"
