#!/usr/bin/env bash
# Runs on the GPU machine, over ./bundle: chosen attention configs at chosen
# rows of the table, one `tessera-bench --attention-table ROW` each with
# TESSERA_ATTENTION_CONFIG set (a config naming MASK_SPLIT or OVERLAP runs as
# given), for quick A/B comparisons within one job:
#   bash scripts/gpu-attention-configs.sh OUT "fa2:128:0:8192 fa2:128:1:16384" \
#     "BLOCK_M=128,BLOCK_N=64,num_warps=8,min_blocks=2,MASK_SPLIT=1" \
#     "BLOCK_M=128,BLOCK_N=128,num_warps=8,warp_specialize=1,OVERLAP=1"
# Writes OUT/configs.txt (row, config, TFLOP/s; 0.0 where it did not compile).
set -uo pipefail
OUT=${1:?usage: gpu-attention-configs.sh OUT_DIR "ROW ..." CONFIG...}
ROWS=${2:?usage: gpu-attention-configs.sh OUT_DIR "ROW ..." CONFIG...}
shift 2
mkdir -p "$OUT"
source "$(dirname "$0")/gpu-unpack.sh"
export TESSERA_CACHE_DIR=/tmp/tessera-cache
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv; date -u; } > "$OUT/device.txt"
for row in $ROWS; do
  for cfg in "$@"; do
    line=$(TESSERA_ATTENTION_CONFIG="$cfg" timeout 60 /tmp/tessera-bin/tessera-bench \
      --attention-table "$row" 2>&1 | tail -1)
    tflops=$(echo "$line" | awk 'NF >= 9 && $2 ~ /^[0-9]+$/ {print $9}')
    printf '%-18s %-70s %8s\n' "$row" "$cfg" "${tflops:-0.0}" | tee -a "$OUT/configs.txt"
  done
done
date -u >> "$OUT/device.txt"
