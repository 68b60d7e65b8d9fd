#!/usr/bin/env bash
# Runs on the GPU machine, over ./bundle: the backward's schedule sweep
# (tessera-bench --attention with TESSERA_BENCH_BWD_SWEEP: every dK/dV and dQ
# candidate, plain and warp-specialized, checked against the library
# schedule's gradients, the fastest printed) at the sequence lengths given
# (default 2048), after the GPU checks of the kinds in CHECK if set.  How
# attentionBackwardConfigFor is chosen.  (Hardware counters for the
# backward: NCU=1 scripts/gpu-attention-bwd-table.sh.)
set -uo pipefail
OUT=${1:?usage: gpu-attention-bwd-sweep.sh OUT_DIR [S...]}
shift
mkdir -p "$OUT"
source "$(dirname "$0")/gpu-unpack.sh"
export TESSERA_CACHE_DIR=/tmp/tessera-cache
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv; date -u; } > "$OUT/device.txt"
# CHECK=KINDS: the GPU checks of those kinds first (e.g. attention,attention_bwd).
if [ -n "${CHECK:-}" ]; then
  timeout ${CHECK_TIMEOUT:-180} /tmp/tessera-bin/tessera-gpu-check --kind "$CHECK" \
    --json "$OUT/gpu-check.json" > "$OUT/gpu-check.log" 2>&1
  echo "gpu-check rc=$?" >> "$OUT/gpu-check.log"
  grep -v " ok$" "$OUT/gpu-check.log" | tail -15
fi
for S in "${@:-2048}"; do
  TESSERA_BENCH_BWD_ONLY=1 TESSERA_BENCH_BWD_SWEEP=1 TESSERA_BENCH_BWD_S=$S \
    timeout ${SWEEP_TIMEOUT:-200} /tmp/tessera-bin/tessera-bench --attention > "$OUT/sweep-s$S.txt" 2>&1
  echo "sweep s=$S rc=$?" >> "$OUT/sweep-s$S.txt"
  cat "$OUT/sweep-s$S.txt"
done
