#!/usr/bin/env bash
# Runs on the GPU machine, over ./bundle: issue 18's backward table in one job:
# the GPU checks (CHECK_KINDS, default atomics,attention_bwd; none), Tessera's
# backward at the table's shapes (tessera-bench --attention-bwd-table; ROWS
# selects rows, NO_ATOMIC=1 leaves out the atomic-dQ column), then SDPA's
# (cuDNN, flash) and the Triton FA2-style backward at the same shapes
# (bench/attn_anchors.py, backward columns only; TUNE_REP=ms shortens the
# Triton autotuner's timing per candidate); NCU=1 adds hardware counters for
# Tessera's dK/dV and dQ kernels at b=4, s=4096, d=64.  Join:
#   python3 bench/attn_table.py --bwd OUT/table.txt OUT/attn_anchors.json
set -uo pipefail
OUT=${1:?usage: gpu-attention-bwd-table.sh OUT_DIR [ROWS]}
ROWS=${2:-}
mkdir -p "$OUT"
source "$(dirname "$0")/gpu-unpack.sh"
export TESSERA_CACHE_DIR=/tmp/tessera-cache
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv; date -u; } > "$OUT/device.txt"
# CHECK_KINDS=none: no checks (run in a job of their own just before, so the
# whole table and its anchors fit in one job's time).
if [ "${CHECK_KINDS:-}" != none ]; then
  timeout ${CHECK_TIMEOUT:-150} /tmp/tessera-bin/tessera-gpu-check --kind "${CHECK_KINDS:-atomics,attention_bwd}" \
    --json "$OUT/gpu-check.json" > "$OUT/gpu-check.log" 2>&1
  echo "gpu-check rc=$?" | tee -a "$OUT/gpu-check.log"
  grep -v " ok$" "$OUT/gpu-check.log" | tail -8
fi
date -u >> "$OUT/device.txt"
TESSERA_BENCH_NO_ATOMIC=${NO_ATOMIC:-} timeout ${TABLE_TIMEOUT:-200} \
  /tmp/tessera-bin/tessera-bench --attention-bwd-table ${ROWS:+"$ROWS"} > "$OUT/table.txt" 2>&1
rc=$?
[ $rc = 0 ] || echo "backward table: rc=$rc (124 = cut off by its timeout; the table is incomplete)" | tee -a "$OUT/table.txt"
cat "$OUT/table.txt"
date -u >> "$OUT/device.txt"
OUT="$OUT" ANCHORS_ONLY="$ROWS" ANCHORS_BWD_ONLY=1 ANCHORS_TUNE_REP=${TUNE_REP:-} PYTHONUNBUFFERED=1 \
  timeout ${ANCHORS_TIMEOUT:-230} python3 bench/attn_anchors.py > "$OUT/anchors.log" 2>&1
echo "anchors rc=$?" >> "$OUT/device.txt"
date -u >> "$OUT/device.txt"
grep '"kind"' "$OUT/anchors.log" | cut -c1-300
if [ -n "${NCU:-}" ] && command -v ncu > /dev/null; then
  TESSERA_BENCH_BWD_ONLY=1 TESSERA_BENCH_BWD_S=4096 timeout ${NCU_TIMEOUT:-60} \
    ncu --clock-control none --section SpeedOfLight --section WarpStateStats --section Occupancy \
    --section LaunchStats -k regex:attention_bwd_d -c 2 \
    /tmp/tessera-bin/tessera-bench --attention > "$OUT/ncu-tessera.txt" 2>&1
  echo "ncu rc=$?" >> "$OUT/ncu-tessera.txt"
  grep -E "attention_bwd_d|Duration|Throughput|Registers Per|Achieved Occupancy|Theoretical Occ|Warp Cycles Per Issued|Stall|rc=" "$OUT/ncu-tessera.txt" | head -40
fi
cat "$OUT/device.txt"
