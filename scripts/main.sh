#!/usr/bin/env bash
# The main job: set up and build, then compile every library kernel (the
# attention forward among them) from its DSL source to PTX for sm_80 and
# sm_90a and report compile time, PTX size and what `ptxas -v` says
# (registers, shared memory, spills).  Where a GPU is present, run the
# flagship attention kernel through the JIT, check it against the float64
# reference and print its speed; without one, say so.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD_DIR=${TESSERA_BUILD_DIR:-build}
# INT_MULTIPLE=16: the specialization the benchmarks run (16-byte accesses).
"$BUILD_DIR/tools/tessera-kernels/tessera-kernels" --target sm_80 --target sm_90a -D INT_MULTIPLE=16 "$@"
echo
if [ -x "$BUILD_DIR/tests/tessera-gpu-check" ]; then
  set +e
  "$BUILD_DIR/tests/tessera-gpu-check" --kind attention,attention_bwd
  rc=$?
  set -e
  if [ $rc -eq 77 ]; then
    echo "(no GPU here: attention was compiled above but not run)"
    exit 0
  fi
  [ $rc -eq 0 ] || exit $rc
  "$BUILD_DIR/tools/tessera-bench/tessera-bench" --attention
fi
