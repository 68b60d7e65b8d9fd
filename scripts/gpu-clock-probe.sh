#!/usr/bin/env bash
# Runs on the GPU machine, over ./bundle: SM clock, power and temperature
# sampled every 50 ms while (1) Tessera's chosen d=128 kernel and (2) SDPA's
# cuDNN backend each run for ~4 s at the FA2 table's s=16k non-causal shape
# (b=1, h=16, d=128).  Shows whether a kernel loses clocks under sustained
# load (why short timings flatter).  OUT/clocks-*.csv, OUT/probe.log.
set -uo pipefail
OUT=${1:?usage: gpu-clock-probe.sh OUT_DIR [TESSERA_CONFIG]}
CFG=${2:-BLOCK_M=128,BLOCK_N=128,num_warps=8,warp_specialize=1,OVERLAP=1}
mkdir -p "$OUT" /tmp/tessera-bin
for f in bundle/*.xz; do xz -dc "$f" > "/tmp/tessera-bin/$(basename "$f" .xz)"; done
chmod +x /tmp/tessera-bin/*
export TESSERA_CACHE_DIR=/tmp/tessera-cache
Q="timestamp,clocks.sm,clocks.max.sm,power.draw,power.limit,temperature.gpu,clocks_throttle_reasons.active"
probe() { # NAME COMMAND...
  local name=$1; shift
  nvidia-smi --query-gpu=$Q --format=csv -lms 50 > "$OUT/clocks-$name.csv" 2>&1 &
  local smi=$!
  sleep 0.5
  "$@" 2>&1 | tail -2 | tee -a "$OUT/probe.log"
  kill $smi
}
# Compile first, so the probe sees the kernel and not the compiler.
TESSERA_ATTENTION_CONFIG="$CFG" /tmp/tessera-bin/tessera-bench --attention-table fa2:128:0:16384 > /dev/null 2>&1
echo "tessera $CFG" >> "$OUT/probe.log"
probe tessera env TESSERA_ATTENTION_CONFIG="$CFG" TESSERA_BENCH_REP_MS=4000 \
  /tmp/tessera-bin/tessera-bench --attention-table fa2:128:0:16384
echo "cudnn" >> "$OUT/probe.log"
probe cudnn python3 - <<'PY'
import time, torch
from torch.nn.attention import sdpa_kernel, SDPBackend
q, k, v = (torch.randn(1, 16, 16384, 128, device="cuda", dtype=torch.float16) for _ in range(3))
f = lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v)
with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
    f(); torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    n, t0 = 0, time.time()
    s.record()
    while time.time() - t0 < 4:
        for _ in range(20):
            f()
        n += 20
        torch.cuda.synchronize()
    e.record(); e.synchronize()
    ms = s.elapsed_time(e) / n
    print(f"cudnn sustained: {ms:.3f} ms/run, {4 * 16 * 16384**2 * 128 / ms / 1e9:.1f} TFLOP/s over {n} runs")
PY
