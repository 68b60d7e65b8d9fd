#!/usr/bin/env bash
# Runs on the GPU machine, over ./bundle: for each ROW=CONFIG pair, Tessera's
# kernel (tessera-bench --attention-table ROW with TESSERA_ATTENTION_CONFIG=CONFIG
# and TESSERA_BENCH_REP_MS=4000) and then SDPA's cuDNN backend at the same
# shape, each for ~4 s of back-to-back runs, with SM clock, power and
# throttle reasons sampled every 50 ms.  CONFIG should name its schedule
# (MASK_SPLIT or OVERLAP), else tessera-bench times three variants of it.
# "under load" = samples above 400 W (an H100 SXM at 700 W; lower it for
# smaller cards).  Shows the speeds in the steady,
# power-capped state rather than in the first few hundred ms that do_bench
# sees.  Rows as in the table: KIND:D:CAUSAL:S (fa2: b=16384/S, h=2048/D;
# d256: b=16384/S, h=8).  OUT/probe.log, OUT/clocks-*.csv.
#   bash scripts/gpu-clock-probe.sh OUT \
#     "fa2:128:0:16384=BLOCK_M=128,BLOCK_N=128,num_warps=8,warp_specialize=1,OVERLAP=1"
set -uo pipefail
OUT=${1:?usage: gpu-clock-probe.sh OUT_DIR ROW=CONFIG...}
shift
mkdir -p "$OUT"
source "$(dirname "$0")/gpu-unpack.sh"
export TESSERA_CACHE_DIR=/tmp/tessera-cache
Q="timestamp,clocks.sm,power.draw,temperature.gpu,clocks_throttle_reasons.active"
probe() { # NAME COMMAND...: runs COMMAND while sampling; prints the loaded samples' means
  local name=$1; shift
  nvidia-smi --query-gpu=$Q --format=csv,noheader -lms 50 > "$OUT/clocks-$name.csv" 2>&1 &
  local smi=$!
  "$@" 2>&1 | tail -1 | tee -a "$OUT/probe.log"
  kill $smi; wait $smi 2>/dev/null
  awk -F', ' '$3+0 > 400 {n++; c += $2; p += $3} END {if (n) printf "  under load: %d samples, SM %.0f MHz, %.0f W\n", n, c/n, p/n}' \
    "$OUT/clocks-$name.csv" | tee -a "$OUT/probe.log"
}
for pair in "$@"; do
  row=${pair%%=*} cfg=${pair#*=}
  IFS=: read -r kind d causal s <<< "$row"
  if [[ ! "$kind" =~ ^(fa2|d256)$ || ! "$d$causal$s" =~ ^[0-9]+$ ]]; then
    echo "skipped $row: rows are fa2:D:CAUSAL:S or d256:256:CAUSAL:S, no wildcards" | tee -a "$OUT/probe.log"
    continue
  fi
  b=$((16384 / s)); h=$([ "$kind" = d256 ] && echo 8 || echo $((2048 / d)))
  tag=$(echo "$row" | tr ':' '-')
  echo "== $row (b=$b h=$h) tessera $cfg" | tee -a "$OUT/probe.log"
  # Compile first, so the probe sees the kernel and not the compiler.
  TESSERA_ATTENTION_CONFIG="$cfg" /tmp/tessera-bin/tessera-bench --attention-table "$row" > /dev/null 2>&1
  probe "tessera-$tag" env TESSERA_ATTENTION_CONFIG="$cfg" TESSERA_BENCH_REP_MS=4000 \
    /tmp/tessera-bin/tessera-bench --attention-table "$row"
  probe "cudnn-$tag" python3 - "$b" "$h" "$s" "$d" "$causal" <<'PY'
import sys, time, torch
from torch.nn.attention import sdpa_kernel, SDPBackend
b, h, s, d, causal = map(int, sys.argv[1:])
q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=torch.float16) for _ in range(3))
f = lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=bool(causal))
with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
    f(); torch.cuda.synchronize()
    flush = torch.empty(256 << 20, dtype=torch.int8, device="cuda")  # as benchMillis: L2 cleared
    ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
          for _ in range(4000)]
    n, t0 = 0, time.time()
    while time.time() - t0 < 4 and n + 20 <= len(ev):
        for _ in range(20):
            flush.zero_(); ev[n][0].record(); f(); ev[n][1].record(); n += 1
        torch.cuda.synchronize()
    ts = sorted(a.elapsed_time(z) for a, z in ev[:n])
    ms = ts[n // 2]
    fl = 4 * b * h * s * s * d / (2 if causal else 1)
    print(f"cudnn sustained: median {ms:.3f} ms over {n} runs, {fl / ms / 1e9:.1f} TFLOP/s")
PY
done
