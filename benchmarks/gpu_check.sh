#!/usr/bin/env bash
# One-shot check of the JAX backend on an NVIDIA GPU (H200: jax with CUDA, diffrax, equinox preinstalled;
# odesnn not installed). Run from the repository root:  OUT=/some/dir bash benchmarks/gpu_check.sh
# Writes at most 6 files to $OUT; every case has its own timeout and prints as it completes.
set -u
OUT="${OUT:-./gpu_out}"
mkdir -p "$OUT"
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
run() {  # name timeout_s args...
  local name=$1 limit=$2; shift 2
  echo "== $name (limit ${limit}s) $(date +%T)" | tee -a "$OUT/log.txt"
  timeout "$limit" python3 -m odesnn.bench --json "$@" >"$OUT/$name.json" 2> >(tee -a "$OUT/log.txt" >&2)
  echo "== $name exit $? $(date +%T)" | tee -a "$OUT/log.txt"
  cat "$OUT/$name.json"
}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >"$OUT/log.txt" 2>&1
python3 -c "import jax, diffrax; print('jax', jax.__version__, jax.devices(), 'diffrax', diffrax.__version__)" \
  2>&1 | tee -a "$OUT/log.txt"
# 1. XOR float64, batch 50: gradient, baseline on the same batch, reference and one looser tolerance
run xor64_b50 200 --case xor --batch 50 --ladder 1e-4
# 2. XOR float32, batch 1024: gradient (target <= 1 s)
run xor32_b1024 80 --case xor32 --batch 1024
# 3. auto-encoder, batch 50: forward per trial (target <= 10 ms) and gradient / forward
run ae_b50 70 --case autoencoder --batch 50
# 4. auto-encoder, batch 1024: forward only
run ae_b1024 60 --case autoencoder --batch 1024 --forward-only
