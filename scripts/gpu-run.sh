#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, over ./bundle:
#   bash scripts/gpu-run.sh OUT_DIR
# Writes logs and JSON to OUT_DIR; exits non-zero if any check fails.
set -uo pipefail
OUT=${1:?usage: gpu-run.sh OUT_DIR}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv > "$OUT/device.txt" 2>&1
cat "$OUT/device.txt"
./bundle/tessera-gpu-check bundle/ptx --json "$OUT/gpu-check.json" 2>&1 | tee "$OUT/gpu-check.log"
exit "${PIPESTATUS[0]}"
