#!/usr/bin/env bash
# The GPU checks, in one go (never part of CI): on a machine with one NVIDIA GPU and a
# Python whose torch has CUDA (choose it with PYTHON=...; sweeper's dependencies
# installed). Everything lands in OUT (default: bench-gpu/). About 10 minutes on an H100.
#
#   1. XLM-R Large shape (random init, built from its config: no download), bf16, batch
#      32, sequence lengths 128 and 256: sweeper's loop vs transformers.Trainer, MFU
#      (non-embedding FLOPs over the bf16 peak) and peak memory.
#   2. The GPU path end to end: a tiny-model trial with the device set to cuda (bf16 and
#      fp32), its numbers compared with the same trial on the CPU.
#   3. Two trials sharing the GPU through fractional resources (gpu: 0.5 each).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${1:-bench-gpu}
mkdir -p "$OUT"
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
export PYTHONUNBUFFERED=1 SWEEPER_CACHE="$OUT/cache"
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no GPU visible to torch'; \
print(torch.cuda.get_device_name(), 'torch', torch.__version__)" || exit 2
failed=0

echo "== 1. training throughput, XLM-R Large shape, bf16, batch 32"
"$PY" bench/train_throughput.py --shapes large --types pair,mc,token,qa --seq-len 128 \
  --batch-size 32 --steps 30 --warmup 8 --reps 3 --json "$OUT/large-128.json" || failed=1
"$PY" bench/train_throughput.py --shapes large --types pair,token --seq-len 256 \
  --batch-size 32 --steps 30 --warmup 8 --reps 3 --json "$OUT/large-256.json" || failed=1

echo "== 2. a tiny trial on the GPU and on the CPU"
trial() {  # device, precision, folder
  "$PY" -m sweeper.cli trial --target xnli,panx,tatoeba --intermediate mnli --data sample \
    --model tiny --set device="$1" --set precision="$2" --out "$OUT/$3" \
    >"$OUT/$3.log" 2>&1 || { echo "trial on $1 ($2) failed: see $OUT/$3.log"; failed=1; }
}
trial cuda auto trial-cuda-bf16
trial cuda fp32 trial-cuda-fp32
trial cpu fp32 trial-cpu
"$PY" bench/compare_trials.py "$OUT/trial-cuda-fp32/metrics.json" "$OUT/trial-cpu/metrics.json" \
  --tolerance 3 || failed=1
"$PY" bench/compare_trials.py "$OUT/trial-cuda-bf16/metrics.json" "$OUT/trial-cpu/metrics.json" \
  --tolerance 8 || failed=1

echo "== 3. two trials sharing the one GPU (resources: gpu 0.5)"
"$PY" bench/gpu_share.py "$OUT/share" || failed=1
exit $failed
