#!/usr/bin/env bash
# Runs on the GPU machine, over ./bundle (issue 21): the mask-modifier GPU
# checks (forward and backward through the block lists against float64) and
# the score-modifier ones, then `tessera-bench --masks` (block-sparse speed
# and scaling), then bench/flex_compare.py (Tessera's Python package against
# FlexAttention with the same modifiers: errors against float64 and speed,
# one job).  Output in OUT.  STEPS: which of check,bench,flex to run.
set -uo pipefail
OUT=${1:?usage: gpu-masks.sh OUT_DIR}
STEPS=${STEPS:-check,bench,flex}
mkdir -p "$OUT"
source "$(dirname "$0")/gpu-unpack.sh"
export TESSERA_CACHE_DIR=/tmp/tessera-cache TESSERA_LIBRARY=/tmp/tessera-bin/libtessera.so
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv; date -u; } > "$OUT/device.txt" 2>&1
if [[ $STEPS == *check* ]]; then
  timeout ${CHECK_TIMEOUT:-200} /tmp/tessera-bin/tessera-gpu-check --kind ${KINDS:-mask,score_mod} \
    > "$OUT/check.log" 2>&1
  echo "rc=$?" >> "$OUT/check.log"
  cat "$OUT/check.log"
fi
if [[ $STEPS == *bench* ]]; then
  timeout ${BENCH_TIMEOUT:-200} /tmp/tessera-bin/tessera-bench --masks > "$OUT/bench.txt" 2>&1
  echo "rc=$?" >> "$OUT/bench.txt"
  cat "$OUT/bench.txt"
fi
if [[ $STEPS == *flex* ]]; then
  OUT="$OUT" timeout ${FLEX_TIMEOUT:-240} python3 bench/flex_compare.py > "$OUT/flex.log" 2>&1
  echo "rc=$?" >> "$OUT/flex.log"
  cat "$OUT/flex.log"
fi
