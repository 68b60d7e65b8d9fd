#!/usr/bin/env bash
# Profiles the attention backward with Nsight Compute on the GPU machine, over
# ./bundle, side by side with the anchors it is measured against:
#   bash scripts/gpu-profile-attention-bwd.sh OUT_DIR ROW [ROW]...
# ROW is one FA2 shape of the backward table, fa2:D:CAUSAL:S (b*s = 16k,
# h*d = 2048, f16), e.g. fa2:128:1:512 (the row furthest below the Triton
# kernel) or fa2:128:0:2048.  For each row: Tessera's preprocess, dK/dV and dQ
# kernels in the library's schedule (tessera-bench --attention, the fourth
# backward call's three kernels), then one backward call each of SDPA-flash,
# SDPA-cuDNN and the Triton FA2-style kernel (bench/attn_anchors.py with
# ANCHORS_PROFILE=1, between cudaProfilerStart and Stop, so `ncu
# --profile-from-start off` sees only those); --set full, clocks left alone.
# Written per row: the details page (speed of light, pipes, warp stall
# reasons, occupancy, registers) as text, and the SASS with per-instruction
# stall samples as CSV, all packed into OUT_DIR/profiles.tar.gz; a summary of
# each kernel's duration, registers and occupancy in OUT_DIR/summary.txt.
# (Prepared 2026-12-04 without device time left to run it: check its first
# run's logs.)
set -uo pipefail
OUT=${1:?usage: gpu-profile-attention-bwd.sh OUT_DIR fa2:D:CAUSAL:S ...}
shift
mkdir -p "$OUT" /tmp/profiles
source "$(dirname "$0")/gpu-unpack.sh"
export TESSERA_CACHE_DIR=/tmp/tessera-cache
for row in "$@"; do
  IFS=: read -r kind d causal s <<< "$row"
  if [ "$kind" != fa2 ]; then
    echo "$row: only fa2:D:CAUSAL:S rows (tessera-bench --attention runs those shapes)" | tee -a "$OUT/summary.txt"
    continue
  fi
  name="d$d-c$causal-s$s"
  # Each backward call launches three matching kernels; skip three calls.
  TESSERA_BENCH_BWD_ONLY=1 TESSERA_BENCH_BWD_S=$s TESSERA_BENCH_BWD_D=$d \
    TESSERA_BENCH_BWD_CAUSAL=$causal timeout ${NCU_TIMEOUT:-240} \
    ncu --clock-control none --set full -k regex:attention_bwd --launch-skip 9 --launch-count 3 \
    -f --export "/tmp/profiles/$name-tessera" /tmp/tessera-bin/tessera-bench --attention \
    > "/tmp/profiles/$name-tessera.log" 2>&1
  echo "$row tessera: ncu rc=$?" | tee -a "$OUT/summary.txt"
  ANCHORS_ONLY="$row" ANCHORS_BWD_ONLY=1 ANCHORS_PROFILE=1 PYTHONUNBUFFERED=1 \
    timeout ${NCU_TIMEOUT:-240} ncu --profile-from-start off --clock-control none --set full \
    -f --export "/tmp/profiles/$name-anchors" python3 bench/attn_anchors.py \
    > "/tmp/profiles/$name-anchors.log" 2>&1
  echo "$row anchors: ncu rc=$?" | tee -a "$OUT/summary.txt"
  for who in tessera anchors; do
    rep="/tmp/profiles/$name-$who.ncu-rep"
    [ -f "$rep" ] || continue
    ncu --import "$rep" --page details > "/tmp/profiles/$name-$who.details.txt" 2>&1
    ncu --import "$rep" --page source --csv --print-source sass \
      > "/tmp/profiles/$name-$who.sass.csv" 2>&1
    # Kernel names (the lines without a metric's unit), then each one's figures.
    grep -E "^  [A-Za-z_].*\(|Duration|Registers Per Thread|Achieved Occupancy|Compute \(SM\) Throughput|Issue Slots Busy" \
      "/tmp/profiles/$name-$who.details.txt" | sed "s/^/$name $who: /" | tee -a "$OUT/summary.txt"
  done
done
tar -C /tmp/profiles -czf "$OUT/profiles.tar.gz" .
