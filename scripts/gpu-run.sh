#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, over ./bundle:
#   bash scripts/gpu-run.sh OUT_DIR [tests|bench|all]
# Unpacks the bundle, runs the GPU tests (through the JIT, twice: the second
# run over the same cache must load every kernel from disk) and/or the
# benchmarks with their torch anchors; logs and JSON go to OUT_DIR.
set -uo pipefail
OUT=${1:?usage: gpu-run.sh OUT_DIR [tests|bench|all]}
WHAT=${2:-all}
mkdir -p "$OUT"
source "$(dirname "$0")/gpu-unpack.sh"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv > "$OUT/device.txt" 2>&1
cat "$OUT/device.txt"
rc=0
if [ "$WHAT" = tests ] || [ "$WHAT" = all ]; then
  export TESSERA_CACHE_DIR=/tmp/tessera-cache
  rm -rf "$TESSERA_CACHE_DIR"
  /tmp/tessera-bin/tessera-gpu-check --json "$OUT/gpu-check.json" 2>&1 | tee "$OUT/gpu-check.log"
  rc=$((rc | PIPESTATUS[0]))
  echo "== second process, same cache (warm start)"
  /tmp/tessera-bin/tessera-gpu-check --json "$OUT/gpu-check-warm.json" 2>&1 | tail -3 | tee "$OUT/gpu-check-warm.log"
  rc=$((rc | PIPESTATUS[0]))
  echo "== ahead-of-time compiled launchers (no LLVM in the program)"
  /tmp/tessera-bin/tessera-aot-example 2>&1 | tee "$OUT/aot-example.log"
  rc=$((rc | PIPESTATUS[0]))
  if [ -x /tmp/tessera-bin/softmax_app ]; then
    echo "== examples/aot-softmax (a separate project, no LLVM)"
    /tmp/tessera-bin/softmax_app 2>&1 | tee -a "$OUT/aot-example.log"
    rc=$((rc | PIPESTATUS[0]))
  fi
  echo "== without ptxas (PTX -> cubin through the driver's linker), no cache"
  TESSERA_PTXAS=/nonexistent TESSERA_CACHE_DISABLE=1 /tmp/tessera-bin/tessera-gpu-check 2>&1 \
    | tail -3 | tee "$OUT/gpu-check-culink.log"
  rc=$((rc | PIPESTATUS[0]))
fi
if [ "$WHAT" = bench ] || [ "$WHAT" = all ]; then
  /tmp/tessera-bin/tessera-bench --json "$OUT/bench.json" 2>&1 | tee "$OUT/bench.log"
  rc=$((rc | PIPESTATUS[0]))
  echo "== matmul table (issue 5 shapes) and the cuBLAS anchor, same session"
  /tmp/tessera-bin/tessera-bench --matmul 2>&1 | tee "$OUT/matmul.log"
  rc=$((rc | PIPESTATUS[0]))
  PYTHONUNBUFFERED=1 python3 bundle/torch_matmul.py "$OUT/torch_matmul.json" 2>&1 | tee "$OUT/torch_matmul.log"
  echo "== autotuner: tune in one process, reuse in a second"
  export TESSERA_CACHE_DIR=/tmp/tessera-tune-cache
  rm -rf "$TESSERA_CACHE_DIR"
  /tmp/tessera-bin/tessera-bench --autotune 2>&1 | tee "$OUT/autotune.log"
  /tmp/tessera-bin/tessera-bench --autotune 2>&1 | tee -a "$OUT/autotune.log"
  cp "$TESSERA_CACHE_DIR"/autotune/*.tune "$OUT/" 2>/dev/null
  PYTHONUNBUFFERED=1 python3 bundle/torch_rowwise.py "$OUT/torch.json" 2>&1 | tee "$OUT/torch.log"
fi
exit $rc
