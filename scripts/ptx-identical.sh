#!/usr/bin/env bash
# Proves that a change leaves code generation alone: the PTX of every library
# kernel, in every configuration listed in scripts/ptx-configs.txt, for sm_80
# and sm_90a, is byte-identical between a base revision and this tree.
#
#   bash scripts/ptx-identical.sh BASE_REV          # build BASE_REV in build-base/ (a git
#                                                   # worktree), compile both, compare
#   bash scripts/ptx-identical.sh --base-ptx DIR    # compare against a snapshot made earlier
#   bash scripts/ptx-identical.sh --snapshot BUILD_DIR OUT_DIR   # only write a snapshot
#
# A configuration that does not compile must fail the same way on both sides
# (its error text is compared too, its DSL location as a file name).  Exit 0: identical; 1: a difference,
# listed with the configuration it belongs to.
#
# ptx-configs.txt holds every specialization the tests, `tessera-gpu-check`
# and `jit::attentionConfig` (over head dims, causal, lengths from 1 to 16k,
# sm_80 and sm_90 devices, f16/bf16, INT_MULTIPLE 1/8/16, varlen) traced on
# 2026-12-02: one line per traceKernel call, `kernel KEY=VALUE...`, as
# recorded by logging each call while the unit tests and the GPU check ran
# (the latter in the interpreter with launches skipped); the attention
# variants' configurations (score and mask modifiers, dropout, the block-mask
# kernel) came later and were added by hand (2026-12-04), and so did the plain
# backward's (58 lines: preprocess, dK/dV in both dQ schedules, dQ, the dQ
# conversion; d = 64/128/256 with both d=256 schedules, causal, f16/bf16,
# varlen, INT_MULTIPLE 1/8/16), which the 2026-12-02 recording predates: until
# then this check never saw the backward's default kernels.  Each line is
# compiled for both targets whatever device it was chosen for.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# PTX_CONFIGS: another list in the same form (e.g. a sample of this one).
CONFIGS=${PTX_CONFIGS:-$ROOT/scripts/ptx-configs.txt}
JOBS=${TESSERA_JOBS:-2}

# snapshot BUILD_DIR OUT_DIR: NNNN/<kernel>.<target>.ptx per line of ptx-configs.txt,
# NNNN/errors.txt where a target failed.
snapshot() {
  local build=$1 out=$2
  local tool=$build/tools/tessera-kernels/tessera-kernels
  [ -x "$tool" ] || { echo "ptx-identical: no $tool (build it first)" >&2; exit 2; }
  rm -rf "$out" && mkdir -p "$out"
  grep -v '^\s*#' "$CONFIGS" | grep -v '^\s*$' | nl -n rz -w 4 -s ' ' |
    TOOL=$tool OUT=$out xargs -P "$JOBS" -L 1 bash -c '
      n=$0; kernel=$1; shift
      defs=(); for kv in "$@"; do defs+=(-D "$kv"); done
      mkdir -p "$OUT/$n"
      echo "$kernel $*" > "$OUT/$n/config.txt"
      # No ptxas: only the PTX is compared, and its report has timings.
      TESSERA_PTXAS=/nonexistent env -u TESSERA_DUMP_DIR "$TOOL" --kernel "$kernel" \
        --target sm_80 --target sm_90a "${defs[@]}" --out "$OUT/$n" > "$OUT/$n/log.txt" 2>&1 || true
      # The failure lines only (the other columns of the report are timings),
      # with the DSL location reduced to its file name: the build folder and
      # a line moved by an edit elsewhere in the kernel file are not a change.
      grep -E "FAILED|^    " "$OUT/$n/log.txt" |
        sed -E "s#[^ ]*/([A-Za-z0-9_]+\.(cpp|h)):[0-9]+:#\1:#g" > "$OUT/$n/errors.txt" || true
      [ -s "$OUT/$n/errors.txt" ] || rm "$OUT/$n/errors.txt"
      rm "$OUT/$n/log.txt"'
  echo "ptx-identical: $(find "$out" -name '*.ptx' | wc -l) PTX files from $(ls "$out" | wc -l) configurations in $out"
}

compare() {
  local base=$1 new=$2
  if diff -r -q -x READY "$base" "$new" > /tmp/ptx-identical.diff; then
    echo "ptx-identical: every PTX byte-identical ($(find "$new" -name '*.ptx' | wc -l) files)"
    return 0
  fi
  echo "ptx-identical: DIFFERENCES"
  while read -r line; do
    echo "  $line"
    dir=$(echo "$line" | grep -o '/[0-9]\{4\}' | head -1 | tr -d /)
    [ -n "$dir" ] && echo "    config: $(cat "$new/$dir/config.txt" 2>/dev/null || cat "$base/$dir/config.txt")"
  done < /tmp/ptx-identical.diff
  return 1
}

case "${1:-}" in
  --snapshot)
    snapshot "$2" "$3" ;;
  --base-ptx)
    BUILD_DIR=${TESSERA_BUILD_DIR:-build}
    cmake --build "$BUILD_DIR" -j "$JOBS" --target tessera-kernels > /dev/null
    snapshot "$BUILD_DIR" "$ROOT/build-ptx/new"
    compare "$2" "$ROOT/build-ptx/new" ;;
  ""|-h|--help)
    sed -n 2,13p "$0"; exit 2 ;;
  *)
    rev=$(git rev-parse --verify "$1^{commit}")
    wt=$ROOT/build-base/src
    if [ ! -d "$wt" ]; then
      git worktree add --detach "$wt" "$rev" > /dev/null
    else
      git -C "$wt" checkout -q --detach "$rev"
    fi
    if [ ! -f "$ROOT/build-base/build/build.ninja" ]; then
      cmake -G Ninja -S "$wt" -B "$ROOT/build-base/build" -DCMAKE_BUILD_TYPE=Release \
        -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir > /dev/null
    fi
    cmake --build "$ROOT/build-base/build" -j "$JOBS" --target tessera-kernels > /dev/null
    snapshot "$ROOT/build-base/build" "$ROOT/build-ptx/base"
    BUILD_DIR=${TESSERA_BUILD_DIR:-build}
    cmake --build "$BUILD_DIR" -j "$JOBS" --target tessera-kernels > /dev/null
    snapshot "$BUILD_DIR" "$ROOT/build-ptx/new"
    compare "$ROOT/build-ptx/base" "$ROOT/build-ptx/new" ;;
esac
