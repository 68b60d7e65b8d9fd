#!/usr/bin/env bash
# Runs on the GPU machine, over ./bundle: the attention table and the anchors for
# some of its rows, in one job, so that every ratio compares numbers from the
# same job.  The whole table plus every anchor takes ~10 minutes (Triton
# autotunes each shape), more than one call may run, so split the rows:
#   bash scripts/gpu-attention-table.sh OUT d256,64          # ~7.5 min (445 s on 2026-11-25)
#   bash scripts/gpu-attention-table.sh OUT 128 check        # ~9 min (529 s; d=128 and GQA rows), with the GPU checks
# then join each call's files:
#   python3 bench/attn_table.py OUT/table.txt OUT/attn_anchors.json
# (ANCHORS_ONLY tokens: fa2, d256, gqa, 64, 128; "128" also matches the GQA rows.)
set -uo pipefail
OUT=${1:?usage: gpu-attention-table.sh OUT_DIR ANCHOR_ROWS [check]}
ROWS=${2:?usage: gpu-attention-table.sh OUT_DIR ANCHOR_ROWS [check]}
mkdir -p "$OUT"
source "$(dirname "$0")/gpu-unpack.sh"
export TESSERA_CACHE_DIR=/tmp/tessera-cache
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv; date -u; } > "$OUT/device.txt"
if [ "${3:-}" = check ]; then
  timeout 240 /tmp/tessera-bin/tessera-gpu-check --json "$OUT/gpu-check.json" > "$OUT/gpu-check.log" 2>&1
  echo "gpu-check rc=$?" | tee -a "$OUT/gpu-check.log"
  tail -2 "$OUT/gpu-check.log"
fi
timeout 330 /tmp/tessera-bin/tessera-bench --attention-table > "$OUT/table.txt" 2>&1
rc=$?
[ $rc = 0 ] || echo "attention table: rc=$rc (124 = cut off by its timeout; the table is incomplete)" | tee -a "$OUT/table.txt"
date -u >> "$OUT/device.txt"
OUT="$OUT" ANCHORS_ONLY="$ROWS" ANCHORS_FWD_ONLY=1 PYTHONUNBUFFERED=1 \
  timeout 330 python3 bundle/attn_anchors.py > "$OUT/anchors.log" 2>&1
date -u >> "$OUT/device.txt"
grep -c '"kind"' "$OUT/anchors.log"
