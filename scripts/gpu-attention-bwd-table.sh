#!/usr/bin/env bash
# Runs on the GPU machine, over ./bundle: issue 18's backward table in one job:
# the backward GPU checks, Tessera's backward at the table's shapes
# (tessera-bench --attention-bwd-table), then SDPA's (cuDNN, flash) and the
# Triton FA2-style backward at the same shapes (bench/attn_anchors.py,
# backward columns only).  Join:
#   python3 bench/attn_table.py --bwd OUT/table.txt OUT/attn_anchors.json
set -uo pipefail
OUT=${1:?usage: gpu-attention-bwd-table.sh OUT_DIR [ROWS]}
ROWS=${2:-}
mkdir -p "$OUT"
source "$(dirname "$0")/gpu-unpack.sh"
export TESSERA_CACHE_DIR=/tmp/tessera-cache
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv; date -u; } > "$OUT/device.txt"
timeout 150 /tmp/tessera-bin/tessera-gpu-check --kind atomics,attention_bwd \
  --json "$OUT/gpu-check.json" > "$OUT/gpu-check.log" 2>&1
echo "gpu-check rc=$?" | tee -a "$OUT/gpu-check.log"
tail -2 "$OUT/gpu-check.log"
timeout 200 /tmp/tessera-bin/tessera-bench --attention-bwd-table $ROWS > "$OUT/table.txt" 2>&1
rc=$?
[ $rc = 0 ] || echo "backward table: rc=$rc (124 = cut off by its timeout; the table is incomplete)" | tee -a "$OUT/table.txt"
date -u >> "$OUT/device.txt"
OUT="$OUT" ANCHORS_ONLY="$ROWS" ANCHORS_BWD_ONLY=1 PYTHONUNBUFFERED=1 \
  timeout 230 python3 bench/attn_anchors.py > "$OUT/anchors.log" 2>&1
echo "anchors rc=$?" >> "$OUT/device.txt"
date -u >> "$OUT/device.txt"
grep -c '"kind"' "$OUT/anchors.log"
