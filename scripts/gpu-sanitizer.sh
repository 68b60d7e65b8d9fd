#!/usr/bin/env bash
# Runs on the GPU machine, over ./bundle: compute-sanitizer (memcheck,
# racecheck, synccheck) over every library kernel at small shapes, through
# tessera-gpu-check (issue 19).  Each tool's run is one process per kernel
# family with its own timeout; --pick chooses small checks by their index
# among the family's (tests/gpu/*Checks.cpp, in order; re-derive them if the
# lists change): the attention picks cover plain, masked-split, overlap,
# varlen (also the library's d=128 128x128 tiles with OVERLAP, whose rings
# fill through cp.async), warp-specialized (d=64/128/256, min_blocks=2),
# persistent (plain and warp-specialized) and expanded-K/V kernels; the backward picks both
# schedules, GQA, d=256, bf16 and varlen, and the library's short-sequence
# schedules (d=64: early dP dot + unmasked blocks split off; d=128: early dP;
# d=128 non-causal: the persistent warp-specialized dQ, pick 3).  The summary lines land in
# OUT/summary.txt ("ERROR SUMMARY: 0 errors", "0 hazards"), with any check
# whose error grew under a tool (ELEVATED, below).
#   TOOLS="memcheck racecheck" bash scripts/gpu-sanitizer.sh OUT
# KINDS="atomics attention_bwd" limits the run to those families (all by
# default).
set -uo pipefail
OUT=${1:?usage: gpu-sanitizer.sh OUT_DIR}
mkdir -p "$OUT"
source "$(dirname "$0")/gpu-unpack.sh"
export TESSERA_CACHE_DIR=/tmp/tessera-cache
CHECK=/tmp/tessera-bin/tessera-gpu-check
FAMILIES=${KINDS:-vector_add softmax layer_norm atomics atomic_swap elementwise axis_ops fp8 philox matmul attention score_mod attention_bwd launch}
declare -A PICK=(
  [vector_add]="" [softmax]="" [layer_norm]="" [atomics]="" [atomic_swap]="" [elementwise]="" [axis_ops]="" [fp8]="" [philox]=""
  [matmul]="0,2,3,4,5,9,12,13,22"
  [attention]="0,1,3,6,13,15,16,18,19,21,26,28,31,32,34,36,40,42,43,57,58,59,61,62,63,64,65"
  [score_mod]="0,1"
  [attention_bwd]="0,3,4,5,8,11,13,14,15,17,18"
  [launch]=""
)
# racecheck cannot see wgmma's shared-memory reads (the async proxy): a race
# between a tensor-core read and a refill shows as no hazard, only as a
# larger error, its timing widening the window (2026-12-04: 2.5e-4 plain,
# up to 6.7e-2 under racecheck; bench/results/pipeline-prologue-race_*).
# So each family's picks also run plainly first (which also compiles their
# kernels, so the tools' runs load them from disk), and every check whose
# error under a tool is above 4x its plain run's (and above 1e-4) is listed
# as ELEVATED.
elevated() { # plain.json tool.json tool kind
  python3 - "$@" << 'PY'
import json, sys
plain, tool, name, kind = sys.argv[1:]
try:
    a = json.load(open(plain))["checks"]; b = json.load(open(tool))["checks"]
except (OSError, ValueError, KeyError) as e:  # e.g. a run cut short by its timeout
    print(f"ELEVATED? {name} {kind}: not compared ({type(e).__name__})")
    sys.exit(0)
for x, y in zip(a, b):  # the same picks in the same order
    if y["rel_err"] > max(4 * x["rel_err"], 1e-4):
        print(f"ELEVATED {name} {kind}: {y['name']}: {y['rel_err']:.3e} (plain {x['rel_err']:.3e})")
PY
}
for kind in $FAMILIES; do
  pick=${PICK[$kind]}
  timeout ${KIND_TIMEOUT:-300} $CHECK --kind "$kind" ${pick:+--pick "$pick"} \
    --json "$OUT/plain-$kind.json" > "$OUT/plain-$kind.log" 2>&1
done
for tool in ${TOOLS:-memcheck racecheck synccheck}; do
  for kind in $FAMILIES; do
    pick=${PICK[$kind]}
    log="$OUT/$tool-$kind.log"
    timeout ${KIND_TIMEOUT:-300} compute-sanitizer --tool "$tool" --error-exitcode 9 \
      $CHECK --kind "$kind" ${pick:+--pick "$pick"} --detail --json "$OUT/$tool-$kind.json" \
      > "$log" 2>&1
    rc=$?
    echo "$tool $kind rc=$rc: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|SYNCCHECK SUMMARY|GPU CHECKS|all GPU checks' "$log" | tr '\n' ' ')" \
      | tee -a "$OUT/summary.txt"
    elevated "$OUT/plain-$kind.json" "$OUT/$tool-$kind.json" "$tool" "$kind" | tee -a "$OUT/summary.txt"
  done
done
