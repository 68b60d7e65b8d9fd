#!/usr/bin/env bash
# Runs on the GPU machine, over ./bundle (issue 20): the DSL vocabulary's GPU
# checks (element-wise math, Philox, atomics with exchange/CAS, argmax and
# the scans, FP8/i8), compute-sanitizer (memcheck, racecheck, synccheck)
# over the new ones at small sizes, and examples/user-project's AOT program
# (bundle/user_aot: the user's own DSL kernel compiled by
# tessera_add_kernels ... PLUGIN, linked against Tessera::Runtime only).
# Output in OUT (vocabulary.log, sanitizer.txt, user_aot.log).
set -uo pipefail
OUT=${1:?usage: gpu-vocabulary.sh OUT_DIR}
mkdir -p "$OUT"
source "$(dirname "$0")/gpu-unpack.sh"
export TESSERA_CACHE_DIR=/tmp/tessera-cache
CHECK=/tmp/tessera-bin/tessera-gpu-check
timeout ${CHECK_TIMEOUT:-150} $CHECK --kind elementwise,philox,atomics,atomic_swap,axis_ops,fp8 \
  > "$OUT/vocabulary.log" 2>&1
echo "rc=$?" >> "$OUT/vocabulary.log"
for tool in memcheck racecheck synccheck; do
  for kind in atomic_swap axis_ops fp8; do
    log="$OUT/$tool-$kind.log"
    timeout ${KIND_TIMEOUT:-90} compute-sanitizer --tool "$tool" --error-exitcode 9 \
      $CHECK --kind "$kind" > "$log" 2>&1
    echo "$tool $kind rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|SYNCCHECK SUMMARY|all GPU checks' "$log" | tr '\n' ' ')" \
      >> "$OUT/sanitizer.txt"
  done
done
if [ -f bundle/user_aot.xz ]; then
  /tmp/tessera-bin/user_aot > "$OUT/user_aot.log" 2>&1
  echo "rc=$?" >> "$OUT/user_aot.log"
fi
