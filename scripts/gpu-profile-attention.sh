#!/usr/bin/env bash
# Profiles attention kernels with Nsight Compute on the GPU machine, over ./bundle
# (after scripts/gpu-run.sh or alone):
#   bash scripts/gpu-profile-attention.sh OUT_DIR NAME ROW CONFIG [NAME ROW CONFIG]...
# ROW selects one shape of `tessera-bench --attention-table` (KIND:D:CAUSAL:S, e.g.
# fa2:128:0:4096); CONFIG is the exact kernel config (with MASK_SPLIT or OVERLAP).
# For each, the fourth launch (after the warm-ups) is profiled with --set full and
# the clocks left alone; the details page (speed of light, pipes, warp stall
# reasons, occupancy) and the SASS with per-instruction stall samples are
# written as text, all packed into OUT_DIR/profiles.tar.gz.
set -uo pipefail
OUT=${1:?usage: gpu-profile-attention.sh OUT_DIR NAME ROW CONFIG ...}
shift
mkdir -p /tmp/tessera-bin /tmp/profiles
[ -x /tmp/tessera-bin/tessera-bench ] || xz -dc bundle/tessera-bench.xz > /tmp/tessera-bin/tessera-bench
chmod +x /tmp/tessera-bin/tessera-bench
while [ $# -ge 3 ]; do
  name=$1 row=$2 cfg=$3
  shift 3
  TESSERA_ATTENTION_CONFIG="$cfg" ncu --clock-control none --set full -k regex:attention \
    --launch-skip 3 --launch-count 1 -f --export "/tmp/profiles/$name" \
    /tmp/tessera-bin/tessera-bench --attention-table "$row" > "/tmp/profiles/$name.log" 2>&1
  tail -3 "/tmp/profiles/$name.log"
  ncu --import "/tmp/profiles/$name.ncu-rep" --page details > "/tmp/profiles/$name.details.txt" 2>&1
  ncu --import "/tmp/profiles/$name.ncu-rep" --page source --csv --print-source sass \
    > "/tmp/profiles/$name.sass.csv" 2>&1
  grep -E "Duration|Registers Per|Achieved Occupancy|Issue Slots Busy|Compute \(SM\) Throughput|Memory Throughput" \
    "/tmp/profiles/$name.details.txt" | head -12
done
tar -C /tmp/profiles -czf "$OUT/profiles.tar.gz" .
