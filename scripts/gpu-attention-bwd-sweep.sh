#!/usr/bin/env bash
# Runs on the GPU machine, over ./bundle: the backward's schedule sweep
# (tessera-bench --attention with TESSERA_BENCH_BWD_SWEEP: every dK/dV and dQ
# candidate, plain and warp-specialized, checked against the library
# schedule's gradients, the fastest printed) at the sequence lengths given
# (default 2048), then compute-sanitizer (memcheck, racecheck) over the
# backward's small checks.  How attentionBackwardConfigFor is chosen.
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
# Hardware counters (ncu) for one backward at b=4, s=4096, d=64, causal=0:
# Tessera's dK/dV and dQ kernels, then SDPA-cuDNN's backward kernels on the
# same shape; the stall reasons and pipe utilizations say where the time goes.
if [ -n "${NCU:-}" ] && command -v ncu > /dev/null; then
  SECTIONS="--section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats --section LaunchStats --section Occupancy --section MemoryWorkloadAnalysis"
  TESSERA_BENCH_BWD_ONLY=1 TESSERA_BENCH_BWD_S=4096 TESSERA_BENCH_REP_MS=1 timeout 90 \
    ncu --clock-control none $SECTIONS -k regex:attention_bwd_d -c 2 \
    /tmp/tessera-bin/tessera-bench --attention > "$OUT/ncu-tessera.txt" 2>&1
  echo "ncu tessera rc=$?" >> "$OUT/ncu-tessera.txt"
  cat > /tmp/cudnn_bwd.py <<'PY'
import torch
from torch.nn.attention import sdpa_kernel, SDPBackend
q, k, v = (torch.randn(4, 32, 4096, 64, device="cuda", dtype=torch.float16, requires_grad=True) for _ in range(3))
with sdpa_kernel([SDPBackend.CUDNN_ATTENTION]):
    for _ in range(2):
        o = torch.nn.functional.scaled_dot_product_attention(q, k, v)
        torch.cuda.synchronize()
        torch.cuda.nvtx.range_push("bwd")
        o.backward(torch.randn_like(o))
        torch.cuda.synchronize()
        torch.cuda.nvtx.range_pop()
PY
  timeout 90 ncu --clock-control none $SECTIONS --nvtx --nvtx-include "bwd/" -c 6 python3 /tmp/cudnn_bwd.py \
    > "$OUT/ncu-cudnn.txt" 2>&1
  echo "ncu cudnn rc=$?" >> "$OUT/ncu-cudnn.txt"
  grep -E "^  [a-zA-Z_].*\(|Duration|Compute \(SM\) Throughput|Memory Throughput|Registers Per|Achieved Occupancy|Issue Slots Busy|No Eligible|rc=" "$OUT"/ncu-*.txt | head -80
fi
